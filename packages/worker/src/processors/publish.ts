import { rm } from 'node:fs/promises';
import { UnrecoverableError, type Job } from 'bullmq';
import { jobIdFor, parseJobData } from '@reindex/queue';
import {
  BuildIntegrityError,
  type BuildQueues,
  readBuildSpec,
  buildManifest,
  currentLatest,
  evaluateGate,
  gateFailureMessage,
  publishManifest,
  readQualityRecord,
  writeQualityRecord,
  measureQuality,
  type PublishResult,
  type MergeResult,
  type TrainResult,
} from '@reindex/pipeline';
import type { WorkerContext } from '../context.js';
import { qualityRecordKey } from '@reindex/core';

/**
 * Measures the merged index (quality report, nprobe), judges the gate, records both in
 * `builds/<id>/quality.json`, then — when the gate passed or the build is forced — writes the
 * version's manifest after verifying every file, moves LATEST, and applies retention. A failed
 * gate fails the job at once (no retry can change the verdict) and leaves LATEST where it was.
 */
export async function processPublish(job: Job, ctx: WorkerContext, queues: BuildQueues): Promise<PublishResult> {
  const data = parseJobData('publish', job.data);
  const store = ctx.store(data.storeUrl);
  const spec = await readBuildSpec(store, data.buildId);
  const merge = Object.values(await job.getChildrenValues<MergeResult>())[0];
  if (!merge) throw new BuildIntegrityError(`build ${data.buildId}: publish found no merge result`);
  const started = Date.now();
  const trainJob = await queues.queues.train.getJob(jobIdFor(data.buildId, 'train'));
  const train = trainJob?.returnvalue as TrainResult | undefined;
  const stageTimings: Record<string, number> = {
    train: trainJob?.finishedOn && trainJob.processedOn ? trainJob.finishedOn - trainJob.processedOn : (train?.trainMs ?? 0),
    shards: Date.parse(merge.shardsFinishedAt) - Date.parse(merge.shardsStartedAt),
    merge: merge.mergeMs,
  };

  // An attempt after a worker died once the quality stage had measured this merge: the report
  // is reused (the sweep takes minutes at scale), the gate judged again.
  const earlier = (await store.exists(qualityRecordKey(spec.buildId))) ? await readQualityRecord(store, spec.buildId).catch(() => undefined) : undefined;
  let report = earlier && JSON.stringify(earlier.merge.files) === JSON.stringify(merge.files) ? earlier.report : undefined;
  const reused = report !== undefined;
  await job.updateProgress({ stage: 'quality', reused });
  if (!report) {
    const dir = await ctx.scratch(`${data.buildId}-quality-${job.attemptsMade}`);
    try {
      report = await measureQuality(store, spec, merge, dir);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
  stageTimings.quality = report.measureMs;
  const gate = evaluateGate({
    quality: spec.quality,
    report,
    items: merge.items,
    rejected: merge.rejected,
    ...(await currentLatest(store, spec.name).then((previous) => (previous ? { previous } : {}))),
  });
  const record = {
    formatVersion: 1 as const,
    buildId: spec.buildId,
    name: spec.name,
    version: spec.version,
    createdAt: new Date().toISOString(),
    report,
    gate,
    merge,
    stageTimings,
  };
  await writeQualityRecord(store, record);
  if (!gate.passed && !spec.force) throw new UnrecoverableError(gateFailureMessage(spec.buildId, gate));

  await job.updateProgress({ stage: 'publish' });
  const publishStarted = Date.now();
  const manifest = buildManifest(spec, record, !gate.passed);
  manifest.stageTimings.publish = publishStarted - started - (reused ? 0 : report.measureMs);
  const { manifestKey, deletedVersions } = await publishManifest(store, manifest, spec.keepVersions);
  return {
    version: spec.version,
    manifestKey,
    ntotal: merge.ntotal,
    items: merge.items,
    rejected: merge.rejected,
    rejectedByReason: merge.rejectedByReason,
    deletedVersions,
    stageTimings: manifest.stageTimings,
    nprobe: manifest.nprobe,
    ...(report.recallAt10 !== undefined ? { recallAt10: report.recallAt10 } : {}),
    gate,
    forced: !gate.passed,
  };
}
