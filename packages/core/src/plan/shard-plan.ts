import type { CatalogueFormat, SkippedFile } from '../catalogue/catalogue-types.js';
import type { ShardSpec } from '../catalogue/shard-spec.js';

/** Stored as `builds/<buildId>/plan.json`; a worker executes `shards[i]` with Catalogue.readShard. */
export interface ShardPlan {
  /** Bumped when the shape changes incompatibly. */
  formatVersion: 1;
  /** Catalogue URL, reopened by workers with openCatalogue. */
  source: string;
  shardCount: number;
  createdAt: string;
  totals: {
    files: number;
    bytes: number;
    /** Exact when `rowsExact`, else JSONL rows are estimated from bytes per line. */
    estimatedRows: number;
    rowsExact: boolean;
  };
  /** Files covered by the plan, as they were when planned (workers check sizes before reading). */
  files: Array<{ file: string; format: CatalogueFormat; bytes: number; rows?: number }>;
  /** Listed files that are not read, each with why (absent in older plans). */
  skipped?: SkippedFile[];
  shards: ShardSpec[];
}

export interface PlanOptions {
  /**
   * Bytes read at the head of a plain JSONL file to estimate bytes per line. Default 64 KiB:
   * hundreds of lines for typical product rows, one small read per file.
   */
  jsonlSampleBytes?: number;
  /** Compressed bytes decompressed at the head of a gzip JSONL file to estimate its rows. Default 256 KiB. */
  gzipSampleBytes?: number;
  /** Parallel ranged reads while finding line boundaries. Default 16. */
  ioConcurrency?: number;
  /** Timestamp recorded in the plan. Default: now. Fixed in tests for reproducible plans. */
  now?: Date;
}

/** Defaults of {@link PlanOptions}. */
export const DEFAULT_PLAN_OPTIONS = {
  jsonlSampleBytes: 64 * 1024,
  gzipSampleBytes: 256 * 1024,
  ioConcurrency: 16,
} as const;
