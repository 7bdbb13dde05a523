/** File formats a catalogue may contain, detected from the file extension. */
export type CatalogueFormat = 'jsonl' | 'jsonl.gz' | 'parquet' | 'synthetic';

/** Formats whose rows are numbered exactly from metadata, so shards and samples address rows. */
export function isRowAddressable(format: CatalogueFormat): boolean {
  return format === 'parquet' || format === 'synthetic';
}

/**
 * Where a row came from, stable across runs so error reports and rejections point at the input.
 * Plain JSONL is addressed by the byte offset of the line (shards read byte ranges, so they do
 * not know absolute line numbers); gzip JSONL by 1-based line number; Parquet by 0-based row.
 */
export type RowLocation =
  | { file: string; byteOffset: number; partLine?: { start: number; index: number } }
  | { file: string; line: number }
  | { file: string; row: number };

/** A raw catalogue row; field mapping happens later (config), not here. */
export interface CatalogueRow {
  location: RowLocation;
  value: Record<string, unknown>;
}

/** An input record that could not be read as a row. Counted and reported, never dropped silently. */
export interface Rejection {
  location: RowLocation;
  reason: string;
}

/** What readShard yields: rows and rejections in input order, at most `batchSize` entries together. */
export interface RowBatch {
  rows: CatalogueRow[];
  rejections: Rejection[];
  /**
   * Plain JSONL only, on the last batch of a byte range: how many lines start in it. With the
   * counts of the ranges before it, a row's `partLine` becomes its line number in the file.
   */
  rangeLines?: JsonlRangeLines;
}

/** The lines of one plain-JSONL byte range (a shard part): `lines` lines start in it at `start`. */
export interface JsonlRangeLines {
  file: string;
  start: number;
  lines: number;
}

/**
 * Line numbers (1-based) of plain-JSONL locations, from the line counts of every range of the
 * file (all the build's shards together): shards read byte ranges, so only the build knows
 * how many lines come before a range. Locations of other kinds are returned as they are.
 */
export function withLineNumbers(location: RowLocation, ranges: readonly JsonlRangeLines[]): RowLocation {
  if (!('byteOffset' in location) || location.partLine === undefined) return location;
  const { start, index } = location.partLine;
  let before = 0;
  for (const r of ranges) {
    if (r.file !== location.file || r.start >= start) continue;
    before += r.lines;
  }
  const covered = start === 0 || ranges.some((r) => r.file === location.file && r.start < start);
  return covered ? { file: location.file, line: before + index + 1 } : location;
}

/** One catalogue file as described from listings and (for Parquet) footers. */
export interface CatalogueFileInfo {
  /** Key of the file inside the catalogue's store. */
  file: string;
  format: CatalogueFormat;
  bytes: number;
  /** Exact row count (Parquet footers, synthetic URLs); absent for JSONL, which would need a full read. */
  rows?: number;
  /** Rows per row group, in order (Parquet only). */
  rowGroupRows?: number[];
}

export interface CatalogueDescription {
  /** The URL the catalogue was opened from. */
  source: string;
  files: CatalogueFileInfo[];
  /** Keys under the source that are not read, each with why, so typos and stray files are visible. */
  skipped: SkippedFile[];
  totalBytes: number;
  /** Sum of Parquet row counts; undefined when any file is JSONL. */
  totalRows?: number;
}

export interface ReadOptions {
  /** Rows + rejections per yielded batch. Default 1024: large enough to amortise per-batch work
   * (an ONNX call), small enough that a batch of wide rows stays a few MiB. */
  batchSize?: number;
  /** Parquet only: columns to decode (the mapped fields). Default: all columns. */
  columns?: string[];
}

/** Defaults of {@link ReadOptions}. */
export const DEFAULT_READ_OPTIONS = {
  batchSize: 1024,
} as const;

/** Human-readable location for messages, e.g. `items.jsonl@byte 1234`. */
export function formatLocation(location: RowLocation): string {
  if ('byteOffset' in location) return `${location.file}@byte ${location.byteOffset}`;
  if ('line' in location) return `${location.file}:${location.line}`;
  return `${location.file}#row ${location.row}`;
}

/** A listed file that is not read as part of the catalogue, and why (plans and the CLI list them). */
export interface SkippedFile {
  file: string;
  reason: string;
}

/**
 * Format of a file from its name: a catalogue format, `sniff` for a Spark-style `part-*` file
 * whose name does not say (its first bytes decide), or a skip with the reason.
 */
export function detectFormat(key: string): CatalogueFormat | 'sniff' | { skip: string } {
  const name = key.toLowerCase();
  const base = name.slice(name.lastIndexOf('/') + 1);
  // Hidden and marker files (_SUCCESS, .crc) are never data, whatever their extension.
  if (base.startsWith('.')) return { skip: 'hidden file (name starts with ".")' };
  if (base.startsWith('_')) return { skip: 'marker file (name starts with "_")' };
  if (name.endsWith('.jsonl') || name.endsWith('.ndjson')) return 'jsonl';
  if (name.endsWith('.jsonl.gz') || name.endsWith('.ndjson.gz')) return 'jsonl.gz';
  if (name.endsWith('.parquet')) return 'parquet';
  // Spark, Hive and Flink write `part-00000-<uuid>-c000.json` (JSON lines), `.json.gz`, or no extension.
  if (base.startsWith('part-')) {
    if (base.endsWith('.json')) return 'jsonl';
    if (base.endsWith('.json.gz') || base.endsWith('.gz')) return 'jsonl.gz';
    if (!/\.[a-z][a-z0-9]*$/.test(base.replace(/-c\d+$/, ''))) return 'sniff';
  }
  const ext = /\.[^./]+$/.exec(base)?.[0];
  return {
    skip: ext
      ? `extension ${ext} is not a catalogue format (.jsonl, .ndjson, .jsonl.gz, .parquet; .json for part-* files)`
      : 'no extension (only part-* files are read by their content)',
  };
}

/** Format of a file from its first bytes (Spark part files without an extension), or a skip. */
export function sniffFormat(head: Buffer): CatalogueFormat | { skip: string } {
  if (head.length >= 4 && head.subarray(0, 4).toString('latin1') === 'PAR1') return 'parquet';
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'jsonl.gz';
  const text = head
    .toString('utf8')
    .replace(/^\uFEFF/, '')
    .trimStart();
  if (text.startsWith('{')) return 'jsonl';
  return { skip: `part file whose content is not JSON lines, gzip or Parquet (starts with ${JSON.stringify(head.subarray(0, 8).toString('latin1'))})` };
}
