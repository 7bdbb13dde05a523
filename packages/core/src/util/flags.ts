/**
 * The first command-line flag given an empty value (`--catalogue ""`, `--name=`, an unset shell
 * variable), for every reindex binary: an empty value is a mistake, never a request for the
 * default (which would build the bundled sample or publish under another name).
 */
export function emptyFlag(values: Record<string, string | boolean | Array<string | boolean> | undefined>): string | undefined {
  for (const [flag, value] of Object.entries(values)) {
    if (typeof value === 'string' && value.trim() === '') return flag;
  }
  return undefined;
}
