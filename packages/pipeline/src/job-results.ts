import type { ManifestFile } from '@reindex/core';
import type { GateVerdict } from './gate.js';
import type { RejectedRow } from './shard-stats.js';

// What each stage's job returns (BullMQ return values, read by the next stage, the coordinator
// and the dashboard) and the names of the files a version publishes.

/** The published index file names (contract: readers find the data file beside the index). */
export const INDEX_FILE = 'index.faiss';
export const DATA_FILE = 'index.ivfdata';
export const ID_MAP_FILE = 'idmap.jsonl';
/**
 * The quality stage's inputs, published with the version so a serving host or a later build
 * can measure recall again without the raw vectors: the held-out query vectors (count × dim
 * float32), their record (count, dim, source, seed, selfIds), and their exact top-100 over the
 * version's items (the truth format of pipeline's serializeTruth).
 */
export const QUALITY_FILES = Object.freeze({ queries: 'quality/queries.f32', info: 'quality/queries.json', truth: 'quality/truth.bin' });

export interface TrainResult {
  sampled: number;
  trainedOn: number;
  trainMs: number;
  trainedIndexBytes: number;
  /** Held-out quality queries uploaded (absent when the build has no quality stage). */
  qualityQueries?: number;
  /** True when this attempt trained on the sample an earlier attempt embedded and checkpointed. */
  sampleResumed?: boolean;
}

export interface MergeResult {
  ntotal: number;
  items: number;
  rejected: number;
  rejectedByReason: Record<string, number>;
  shards: number;
  /** `memory` when the merged index fit the memory budget, `disk` otherwise (OnDiskInvertedLists). */
  mode: 'memory' | 'disk';
  /** Files of the version, uploaded under indexes/<name>/<version>/ (paths relative to it). */
  files: ManifestFile[];
  idMap?: string;
  shardsStartedAt: string;
  shardsFinishedAt: string;
  mergeMs: number;
  /** The first copies the merge rejected because another shard held the same id (duplicates, collisions). */
  crossShardRejections?: RejectedRow[];
  /** An incremental build's merge: the base, the items carried over, the base's items removed (listed at `key`). */
  incremental?: { baseVersion: string; carried: number; changed: number; added: number; removedFromBase: { key: string; count: number } };
  /** Where the ids the merge removed from each shard's part are listed (see removedIdsKey), when it removed any. */
  removedIds?: { key: string; count: number };
}

/**
 * `builds/<id>/rejections.json`: every rejected row counted by reason, with the first examples
 * of every shard and of the merge (ids found in several shards), located by line for JSONL.
 */
export interface RejectionReport {
  buildId: string;
  rejected: number;
  rejectedByReason: Record<string, number>;
  examples: RejectedRow[];
}

export interface PublishResult {
  version: string;
  manifestKey: string;
  ntotal: number;
  items: number;
  rejected: number;
  /** Rejected rows by reason (malformed-row, duplicate-id, ...). */
  rejectedByReason: Record<string, number>;
  deletedVersions: string[];
  stageTimings: Record<string, number>;
  /** The nprobe the quality stage chose (the manifest's). */
  nprobe: number;
  /** recall@10 at that nprobe (absent when not measured). */
  recallAt10?: number;
  gate: GateVerdict;
  /** Published with `--force` although the gate failed. */
  forced: boolean;
}
