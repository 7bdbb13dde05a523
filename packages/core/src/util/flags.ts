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

/**
 * The one integer grammar of every reindex binary's flags: optional sign, decimal digits, and an
 * optional power of ten (`1e9` for a billion items); nothing else (`0x10`, `12.0`, `1.5e3`, `8k`,
 * empty strings are refused), within [min, max]. Returns the number, or a message naming the flag (callers raise their own error).
 */
export function parseIntegerFlag(flag: string, raw: string, range: { min?: number; max?: number } = {}): number | { problem: string } {
  const min = range.min ?? Number.MIN_SAFE_INTEGER;
  const max = range.max ?? Number.MAX_SAFE_INTEGER;
  const text = raw.trim();
  const n = Number(text);
  if (!/^[+-]?\d+(?:[eE]\d+)?$/.test(text) || !Number.isSafeInteger(n)) return { problem: `--${flag} must be an integer, got ${JSON.stringify(raw)}` };
  if (n < min || n > max) return { problem: `--${flag} must be ${range.max === undefined ? `at least ${min}` : `an integer ${min}..${max}`}, got ${n}` };
  return n;
}
