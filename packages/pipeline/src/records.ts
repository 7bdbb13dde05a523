import { z } from 'zod';
import { parseStoredRecord, recordFields as f } from '@reindex/core';
import type { BuildSpec } from './build-spec.js';
import type { QualityRecord } from './gate.js';
import type { QueryFileInfo } from './quality-queries.js';
import type { ShardStats } from './shard-stats.js';

// What each record's readers rely on; fields a schema does not name pass through unchecked.

const buildSpecSchema = z.looseObject({
  formatVersion: z.literal(1),
  buildId: f.text,
  name: f.text,
  version: f.text,
  createdAt: f.text,
  storeUrl: f.text,
  catalogue: z.looseObject({
    url: f.text,
    fields: z.record(z.string(), z.string()),
    normalizeEmbeddings: z.boolean().optional(),
    idKind: z.enum(['int64', 'string']).optional(),
  }),
  model: z.looseObject({ dir: f.text.nullable(), contentHash: f.text.nullable(), dim: f.positive }),
  index: z.looseObject({
    factory: f.text,
    nlist: f.positive,
    metric: z.enum(['ip', 'l2']),
    nprobe: f.positive,
    trainSampleSize: f.positive,
    trainSeed: z.number().int(),
  }),
  keepVersions: f.positive,
  quality: z
    .looseObject({ queries: f.positive, targetRecallAt10: z.number().min(0).max(1), latencyBudgetMs: z.number().positive(), seed: z.number().int() })
    .optional(),
  force: z.boolean().optional(),
});

const shardStatsSchema = z.looseObject({
  shard: f.count,
  items: f.count,
  rejected: f.count,
  rejectedByReason: z.record(z.string(), f.count),
  rejectedExamples: z.array(z.unknown()),
  index: f.file,
  idMap: f.file.optional(),
  ids: f.file.extend({ count: f.count, files: z.array(z.string()) }).optional(),
  truth: f.file.extend({ queries: f.count, k: f.positive }).optional(),
  startedAt: f.text,
  finishedAt: f.text,
  workerId: z.string(),
  embedMs: f.ms,
  addMs: f.ms,
});

const qualityRecordSchema = z.looseObject({
  formatVersion: z.literal(1),
  buildId: f.text,
  name: f.text,
  version: f.text,
  createdAt: f.text,
  report: z.looseObject({ nprobe: f.positive, measureMs: f.ms }),
  gate: z.looseObject({ passed: z.boolean(), failed: z.array(z.string()) }),
  merge: z.looseObject({ ntotal: f.count, items: f.count, rejected: f.count, files: z.array(f.file) }),
  stageTimings: z.record(z.string(), z.number()),
});

const queryFileInfoSchema = z.looseObject({
  count: f.count,
  dim: f.positive,
  source: z.enum(['query-tower', 'item-embeddings', 'query-file']),
  sampled: f.count,
  seed: z.number().int(),
  selfIds: z.array(z.string()).optional(),
});

export const parseBuildSpecRecord = (bytes: Buffer, key: string): BuildSpec => parseStoredRecord<BuildSpec>(bytes, key, buildSpecSchema);
export const parseShardStatsRecord = (bytes: Buffer, key: string): ShardStats => parseStoredRecord<ShardStats>(bytes, key, shardStatsSchema);
export const parseQualityRecord = (bytes: Buffer, key: string): QualityRecord => parseStoredRecord<QualityRecord>(bytes, key, qualityRecordSchema);
export const parseQueryFileInfoRecord = (bytes: Buffer, key: string): QueryFileInfo => parseStoredRecord<QueryFileInfo>(bytes, key, queryFileInfoSchema);
