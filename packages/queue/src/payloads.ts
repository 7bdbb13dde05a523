import { ReindexError } from '@reindex/core';
import { assertBuildId, type StageName } from './topology.js';

// Job payloads stay tiny: the build's plan and configuration live in the object store
// (builds/<buildId>/build.json); Redis carries ids and progress only.

export interface TrainJobData {
  buildId: string;
  /** Object-store URL the build's artifacts live under. */
  storeUrl: string;
}

export interface ShardJobData extends TrainJobData {
  shard: number;
}

export type MergeJobData = TrainJobData;
export type PublishJobData = TrainJobData;

export interface JobDataByStage {
  train: TrainJobData;
  shard: ShardJobData;
  merge: MergeJobData;
  publish: PublishJobData;
}

/** Thrown for a payload that no retry can fix; processors turn it into BullMQ's UnrecoverableError. */
export class JobDataError extends ReindexError {
  constructor(message: string) {
    super('INVALID_JOB_DATA', message);
  }
}

/** Validates a job payload at the edge, naming the field at fault. */
export function parseJobData<S extends StageName>(stage: S, data: unknown): JobDataByStage[S] {
  if (typeof data !== 'object' || data === null) throw new JobDataError(`${stage} job data must be an object, got ${JSON.stringify(data)}`);
  const record = data as Record<string, unknown>;
  try {
    assertBuildId(record.buildId, `${stage} job data.buildId`);
  } catch (error) {
    throw new JobDataError((error as Error).message);
  }
  if (typeof record.storeUrl !== 'string' || record.storeUrl.length === 0) {
    throw new JobDataError(`${stage} job data.storeUrl must be a non-empty string`);
  }
  if (stage === 'shard') {
    if (!Number.isInteger(record.shard) || (record.shard as number) < 0) {
      throw new JobDataError(`shard job data.shard must be a non-negative integer, got ${JSON.stringify(record.shard)}`);
    }
    return { buildId: record.buildId, storeUrl: record.storeUrl, shard: record.shard } as JobDataByStage[S];
  }
  return { buildId: record.buildId, storeUrl: record.storeUrl } as JobDataByStage[S];
}
