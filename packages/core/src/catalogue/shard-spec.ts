/**
 * What one shard reads: a list of parts, each a slice of one catalogue file. Plain JSON so a plan
 * can be stored (plan.json) and executed by any worker.
 */
export type ShardPart =
  /** Plain JSONL: the lines that START at a byte offset in [start, end). start and end are line starts. */
  | { kind: 'jsonl-range'; file: string; fileBytes: number; start: number; end: number }
  /** Gzip JSONL: the whole file (gzip streams cannot be entered in the middle). */
  | { kind: 'jsonl-gz'; file: string; fileBytes: number }
  /** Parquet: rows [rowStart, rowEnd) of the file, 0-based. */
  | { kind: 'parquet-rows'; file: string; fileBytes: number; rowStart: number; rowEnd: number }
  /** A generated catalogue (`synthetic:` URL): rows [rowStart, rowEnd), computed, never read. */
  | { kind: 'synthetic-rows'; file: string; fileBytes: number; rowStart: number; rowEnd: number };

/** Parts whose rows are addressed by number (sampling draws row numbers for these). */
export type RowRangePart = Extract<ShardPart, { kind: 'parquet-rows' | 'synthetic-rows' }>;

export interface ShardSpec {
  /** 0-based shard index; also the `<i>` of `builds/<buildId>/shards/<i>.index`. */
  index: number;
  parts: ShardPart[];
  /** Exact for Parquet, estimated from bytes for JSONL. */
  estimatedRows: number;
  /** Bytes of input this shard reads (Parquet: pro rata of its files). */
  estimatedBytes: number;
}
