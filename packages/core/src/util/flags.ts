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

/**
 * A binary's arguments without the `--` that `pnpm run <script> -- --flag` passes through
 * first (pnpm forwards it verbatim, and node's parseArgs would treat every flag after it as a
 * positional). Only a leading `--` is dropped: later ones keep their meaning.
 */
export function commandLineArgs(argv: readonly string[] = process.argv.slice(2)): string[] {
  return argv[0] === '--' ? argv.slice(1) : [...argv];
}
