import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { ConfigError, type IndexParams } from '@reindex/core';
import { REPO_ROOT } from './defaults.js';

/**
 * Per-worker rates measured by `bench:scale` (and `bench:flow` for Redis), written to
 * docs/scale-rates.json: what `reindex plan --hours` multiplies out. A "worker" is what the
 * bench ran: one in-process worker with one core of the bench machine.
 */
export interface ScaleRates {
  /** Where and how the rates were measured (machine line, date, command). */
  measured: string;
  /** Shard stage: items one worker embeds and adds per second. */
  shardItemsPerWorkerSecond: number;
  /** Train job: seconds per vector of the training sample (sampling, embedding, k-means). */
  trainSecondsPerSampleVector: number;
  /** Merge job: bytes of merged index written per second. */
  mergeBytesPerSecond: number;
  /** Quality stage seconds per 1,000 held-out queries (the nprobe sweep). */
  qualitySecondsPerThousandQueries: number;
  /** Objects each shard writes to the store (sub-index, stats, truth, id map). */
  storeObjectsPerShard: number;
  /** Redis memory a shard's jobs take at the peak of a build (bench:flow). */
  redisBytesPerShard: number;
}

export const DEFAULT_SCALE_RATES_FILE = path.join(REPO_ROOT, 'docs/scale-rates.json');

const RATE_FIELDS = [
  'shardItemsPerWorkerSecond',
  'trainSecondsPerSampleVector',
  'mergeBytesPerSecond',
  'qualitySecondsPerThousandQueries',
  'storeObjectsPerShard',
  'redisBytesPerShard',
] as const;

/** Reads and validates a rates file, naming the file and field at fault. */
export async function readScaleRates(file = DEFAULT_SCALE_RATES_FILE): Promise<ScaleRates> {
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(file, 'utf8'));
  } catch (cause) {
    throw new ConfigError(`cannot read the measured rates ${file}: ${(cause as Error).message} (pnpm run bench:scale writes them)`, {
      cause,
      code: 'SCALE_RATES_UNREADABLE',
    });
  }
  const r = raw as Record<string, unknown>;
  const bad = RATE_FIELDS.filter((k) => typeof r[k] !== 'number' || !Number.isFinite(r[k]) || (r[k] as number) <= 0);
  if (typeof r.measured !== 'string') bad.push('measured' as never);
  if (bad.length > 0) throw new ConfigError(`${file}: ${bad.map((k) => `${k} must be a positive number`).join('; ')}`, { code: 'SCALE_RATES_INVALID' });
  return r as unknown as ScaleRates;
}

export interface CapacityPlan {
  items: number;
  hours: number;
  shards: number;
  workers: number;
  trainSeconds: number;
  shardStageSeconds: number;
  mergeSeconds: number;
  mergeDiskBytes: number;
  qualitySeconds: number;
  storeObjects: number;
  redisBytes: number;
}

/** Longest a shard job should run at the measured rate: short enough that a lost worker costs little. */
export const TARGET_SHARD_SECONDS = 600;

/**
 * The fleet a night of `items` needs to finish in `hours`: the serial stages (train, merge,
 * quality) from the measured rates, the rest of the window for shards, and as many workers as
 * the shard stage needs at the measured per-worker rate.
 */
export function planCapacity(params: IndexParams, items: number, hours: number, queries: number, rates: ScaleRates): CapacityPlan {
  if (!(hours > 0) || !Number.isFinite(hours)) throw new ConfigError(`--hours must be a positive number, got ${hours}`);
  const trainSeconds = params.trainSampleSize * rates.trainSecondsPerSampleVector;
  const mergeSeconds = params.estimatedIndexBytes / rates.mergeBytesPerSecond;
  const qualitySeconds = (queries / 1000) * rates.qualitySecondsPerThousandQueries;
  const shardStageSeconds = hours * 3600 - trainSeconds - mergeSeconds - qualitySeconds;
  if (shardStageSeconds <= 0) {
    throw new ConfigError(
      `${hours} h is too short: training (${Math.round(trainSeconds)} s), merge (${Math.round(mergeSeconds)} s) and quality (${Math.round(qualitySeconds)} s) alone take longer at the measured rates`,
      { code: 'WINDOW_TOO_SHORT' },
    );
  }
  const workers = Math.ceil(items / (rates.shardItemsPerWorkerSecond * shardStageSeconds));
  const shards = Math.max(workers, Math.ceil(items / (rates.shardItemsPerWorkerSecond * TARGET_SHARD_SECONDS)));
  return {
    items,
    hours,
    shards,
    workers,
    trainSeconds,
    shardStageSeconds,
    mergeSeconds,
    // The merge downloads every part and writes the merged index beside them.
    mergeDiskBytes: 2 * params.estimatedIndexBytes,
    qualitySeconds,
    storeObjects: shards * rates.storeObjectsPerShard,
    redisBytes: shards * rates.redisBytesPerShard,
  };
}
