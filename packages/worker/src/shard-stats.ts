import type { ManifestFile } from '@reindex/core';

/** One rejected input row, as reported (the first few of each shard are kept as examples). */
export interface RejectedRow {
  /** Where the row is: `file:line`, `file@byte`, or `file#row`. */
  location: string;
  itemId: string | null;
  reason: string;
  message: string;
}

/** `builds/<buildId>/shards/<i>.json`: written last, so its presence marks a finished shard. */
export interface ShardStats {
  shard: number;
  items: number;
  rejected: number;
  rejectedByReason: Record<string, number>;
  rejectedExamples: RejectedRow[];
  /** The uploaded sub-index (and string-id map, when ids are strings). */
  index: ManifestFile;
  idMap?: ManifestFile;
  /** Exact top-k of the build's quality queries against this shard's items (absent without queries). */
  truth?: ManifestFile & { queries: number; k: number };
  startedAt: string;
  finishedAt: string;
  workerId: string;
  embedMs: number;
  addMs: number;
  /** Time the exact search of the quality queries took (overlapping embedding). */
  truthMs?: number;
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
