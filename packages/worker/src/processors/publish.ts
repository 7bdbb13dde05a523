import type { Job } from 'bullmq';
import type { Manifest } from '@reindex/core';
import { jobIdFor, parseJobData } from '@reindex/queue';
import type { BuildQueues } from '../build-queues.js';
import { readBuildSpec } from '../build-spec.js';
import type { WorkerContext } from '../context.js';
import { applyRetention, moveLatest, writeManifest } from '../versions.js';
import type { MergeResult } from './merge.js';
import type { TrainResult } from './train.js';

export interface PublishResult {
  version: string;
  manifestKey: string;
  ntotal: number;
  items: number;
  rejected: number;
  deletedVersions: string[];
  stageTimings: Record<string, number>;
}

/**
 * Writes the version's manifest after verifying every file, then moves LATEST, then applies
 * retention. Any failure before the LATEST write leaves LATEST on the previous version.
 */
export async function processPublish(job: Job, ctx: WorkerContext, queues: BuildQueues): Promise<PublishResult> {
  const data = parseJobData('publish', job.data);
  const store = ctx.store(data.storeUrl);
  const spec = await readBuildSpec(store, data.buildId);
  const merge = Object.values(await job.getChildrenValues<MergeResult>())[0];
  if (!merge) throw new Error(`build ${data.buildId}: publish found no merge result`);
  const started = Date.now();
  const trainJob = await queues.queues.train.getJob(jobIdFor(data.buildId, 'train'));
  const train = trainJob?.returnvalue as TrainResult | undefined;
  const stageTimings: Record<string, number> = {
    train: trainJob?.finishedOn && trainJob.processedOn ? trainJob.finishedOn - trainJob.processedOn : train?.trainMs ?? 0,
    shards: Date.parse(merge.shardsFinishedAt) - Date.parse(merge.shardsStartedAt),
    merge: merge.mergeMs,
  };
  const manifest: Manifest = {
    name: spec.name,
    version: spec.version,
    buildId: spec.buildId,
    createdAt: new Date().toISOString(),
    dim: spec.model.dim,
    metric: spec.index.metric,
    factory: spec.index.factory,
    nprobe: spec.index.nprobe,
    ntotal: merge.ntotal,
    files: merge.files,
    modelBundleHash: spec.model.contentHash,
    catalogue: { source: spec.catalogue.url, items: merge.items, rejected: merge.rejected },
    stageTimings,
    quality: {},
    ...(merge.idMap ? { idMap: merge.idMap } : {}),
  };
  const manifestKey = await writeManifest(store, manifest);
  stageTimings.publish = Date.now() - started;
  await moveLatest(store, spec.name, spec.version);
  const deletedVersions = await applyRetention(store, spec.name, spec.keepVersions);
  return { version: spec.version, manifestKey, ntotal: merge.ntotal, items: merge.items, rejected: merge.rejected, deletedVersions, stageTimings };
}
