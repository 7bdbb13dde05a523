import type { JsonlRangeLines, ManifestFile, RowLocation } from '@reindex/core';

/** One rejected input row, as reported (the first few of each shard are kept as examples). */
export interface RejectedRow {
  /** Where the row is: `file:line`, `file@byte`, or `file#row`. */
  location: string;
  /** The same, structured (plain JSONL: with its line within the shard's byte range, for line numbers). */
  at?: RowLocation;
  itemId: string | null;
  reason: string;
  message: string;
}

/** `builds/<buildId>/shards/<i>.json`: written last, so its presence marks a finished shard. */
export interface ShardStats {
  shard: number;
  /**
   * Set on the job's return value (never in the stats file) when this run found the shard
   * finished by an earlier one and reused it: the stats are that run's.
   */
  reused?: boolean;
  /** Vectors in the shard's sub-index (embedded here). */
  items: number;
  /**
   * An incremental build's account: items carried over from the base (not embedded, not in the
   * sub-index), and of those embedded, the ones the base held with other content and the new ones.
   */
  incremental?: { carried: number; changed: number; added: number };
  rejected: number;
  rejectedByReason: Record<string, number>;
  rejectedExamples: RejectedRow[];
  /** The uploaded sub-index (and string-id map, when ids are strings). */
  index: ManifestFile;
  idMap?: ManifestFile;
  /** Plain JSONL ranges this shard read and how many lines start in each (for line numbers). */
  jsonlRanges?: JsonlRangeLines[];
  /** Every indexed faiss id, sorted, with its location (item-ids.ts); absent in older stats. */
  ids?: ManifestFile & { count: number; files: string[] };
  /** Exact top-k of the build's quality queries against this shard's items (absent without queries). */
  truth?: ManifestFile & { queries: number; k: number };
  startedAt: string;
  finishedAt: string;
  workerId: string;
  /**
   * Where the shard's time went, in milliseconds of this worker's clock. `embedMs` is the wall
   * time of the embed calls; inside it `featurizeMs` ran on the job's thread and `inferenceMs` in
   * onnxruntime's (overlapping the next batch's featurization). `addMs` and `truthMs` run off the
   * JS thread, overlapping the next batch's read and embedding. Absent in older stats: readMs,
   * featurizeMs, inferenceMs, uploadMs.
   */
  embedMs: number;
  addMs: number;
  /** Time the exact search of the quality queries took (overlapping embedding). */
  truthMs?: number;
  /** Waiting for the catalogue's next batch (fetch, decompress, parse; or generate). */
  readMs?: number;
  featurizeMs?: number;
  inferenceMs?: number;
  /** Writing the sub-index and uploading it, the id map and the truth lists. */
  uploadMs?: number;
}

export const MAX_REJECTED_EXAMPLES = 20;

export class RejectionTally {
  count = 0;
  readonly byReason: Record<string, number> = {};
  readonly examples: RejectedRow[] = [];

  add(row: RejectedRow): void {
    this.count++;
    this.byReason[row.reason] = (this.byReason[row.reason] ?? 0) + 1;
    if (this.examples.length < MAX_REJECTED_EXAMPLES) this.examples.push(row);
  }
}
