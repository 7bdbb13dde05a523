import type { Job } from 'bullmq';
import { ReindexError, attemptsPhrase, type ObjectStore } from '@reindex/core';
import { jobIdFor } from '@reindex/queue';
import { readBuildSpec, readPlan, writeBuildSpec, type BuildQueues, type PublishResult, type ShardStats } from '@reindex/pipeline';
import type { PreparedBuild } from './prepare-build.js';

export class BuildFailedError extends ReindexError {
  /** The failing job's own error code, when it failed permanently with one (e.g. `CATALOGUE_CHANGED`). */
  readonly causeCode?: string;
  constructor(
    readonly buildId: string,
    readonly stage: string,
    message: string,
  ) {
    super('BUILD_FAILED', message);
    const code = /\(([A-Z][A-Z0-9_]+); not retried/.exec(message)?.[1];
    if (code !== undefined) this.causeCode = code;
  }
}

export interface BuildProgress {
  buildId: string;
  /** The stage running now (`quality` measures the merged index inside the publish job). */
  stage: 'train' | 'shards' | 'merge' | 'quality' | 'publish' | 'done';
  shardsTotal: number;
  shardsDone: number;
  shardsActive: number;
  /** Items embedded and added so far (finished shards plus the progress of running ones). */
  items: number;
  /** Of `items`, those of shards an earlier run finished and this one reused (not work done now). */
  itemsReused: number;
  rejected: number;
  elapsedMs: number;
  /** Since this watcher first saw the shard stage running (rates are over this, not the whole run). */
  shardStageMs?: number;
  /** What the train job reports: sampling (rows drawn / embedded of the sample size), or k-means. */
  train?: TrainProgress;
}

export interface TrainProgress {
  step: 'sample' | 'k-means';
  sampled?: number;
  embedded?: number;
  sampleSize?: number;
  /** The sample came from an earlier attempt's checkpoint. */
  resumed?: boolean;
}

/** Writes the build's spec and plan to the store, then enqueues its train job (idempotent). */
export async function submitBuild(queues: BuildQueues, store: ObjectStore, prepared: PreparedBuild): Promise<void> {
  await writeBuildSpec(store, prepared.spec, prepared.plan);
  await queues.enqueueTrain({ buildId: prepared.spec.buildId, storeUrl: prepared.spec.storeUrl });
}

async function stateOf(job: Job | undefined): Promise<string> {
  return job ? job.getState() : 'missing';
}

/** The reason a failed parent fails with names its child: find that child's own error. */
async function explainFailure(queues: BuildQueues, job: Job): Promise<{ stage: string; message: string }> {
  const child = queues.keys.shardJobIdIn(job.failedReason ?? '');
  if (child) {
    const shardJob = await queues.queues.shard.getJob(child.jobId);
    return {
      stage: `shard ${child.shard}`,
      message: `shard ${child.shard} failed after ${attemptsPhrase(shardJob?.attemptsMade)}: ${shardJob?.failedReason ?? job.failedReason}`,
    };
  }
  return { stage: job.name, message: `${job.name} failed after ${attemptsPhrase(job.attemptsMade)}: ${job.failedReason}` };
}

/**
 * Follows a build through its queues until it is published (returns the publish result) or
 * fails for good (throws BuildFailedError naming the stage, shard and error). Polls job
 * states, which survive any process: several watchers, or none, change nothing.
 */
/** What {@link waitForBuild} does when the build's jobs vanish from Redis. */
export interface LostQueueOptions {
  /** The build's store: with it, the build is resumed from the store once (as `--resume` does). */
  store?: ObjectStore;
  /** How long every job of the build may be missing before it counts as lost. Default 15 s. */
  lostAfterMs?: number;
  /** Told when the build is resumed after its jobs were lost. */
  onResumed?: (message: string) => void;
}

export const DEFAULT_LOST_AFTER_MS = 15_000;

export async function waitForBuild(
  queues: BuildQueues,
  buildId: string,
  shardsTotal: number,
  onProgress: (p: BuildProgress) => void = () => undefined,
  pollMs = 500,
  lost: LostQueueOptions = {},
): Promise<PublishResult> {
  const started = Date.now();
  let finishedItems = 0;
  let finishedRejected = 0;
  let reusedItems = 0;
  let shardStageStartedAt: number | undefined;
  let lastValuesAt = 0;
  // Redis restarted empty (no persistence, a fresh replica): every job of the build is gone
  // and nothing would ever finish it. Noticed within lostAfterMs, resumed once from the store.
  let missingSince: number | undefined;
  let resumed = false;
  const lostAfterMs = lost.lostAfterMs ?? DEFAULT_LOST_AFTER_MS;
  for (;;) {
    const train = await queues.queues.train.getJob(jobIdFor(buildId, 'train'));
    const trainState = await stateOf(train);
    if (trainState === 'failed' && train) {
      const failed = (await queues.queues.train.getJob(jobIdFor(buildId, 'train'))) ?? train;
      throw new BuildFailedError(buildId, 'train', `train failed after ${attemptsPhrase(failed.attemptsMade)}: ${failed.failedReason}`);
    }
    const publish = await queues.queues.publish.getJob(jobIdFor(buildId, 'publish'));
    const merge = await queues.queues.merge.getJob(jobIdFor(buildId, 'merge'));
    const [publishState, mergeState] = await Promise.all([stateOf(publish), stateOf(merge)]);
    if (publishState === 'completed' && publish) {
      // The job was read before its state: it may have completed in between, so read it again
      // for its return value (the copy read earlier still holds null).
      const done = (await queues.queues.publish.getJob(publish.id!)) ?? publish;
      if (done.returnvalue) return done.returnvalue as PublishResult;
    }
    if (!train && !merge && !publish) {
      missingSince ??= Date.now();
      if (Date.now() - missingSince >= lostAfterMs) {
        const what = `the jobs of build ${buildId} are gone from Redis (restarted without persistence, or failed over to an empty replica)`;
        if (!lost.store || resumed) {
          throw new BuildFailedError(
            buildId,
            'queue',
            `${what}; run \`reindex --resume ${buildId}\` to continue it from the store (finished shards are reused)`,
          );
        }
        resumed = true;
        missingSince = undefined;
        await resumeBuild(queues, lost.store, buildId);
        lost.onResumed?.(`${what}: resumed from the store (finished shards are reused)`);
        continue;
      }
    } else {
      missingSince = undefined;
    }
    for (const [job, state, queue] of [
      [merge, mergeState, queues.queues.merge],
      [publish, publishState, queues.queues.publish],
    ] as const) {
      if (state === 'failed' && job) {
        // The job was read before its state: it may have failed in between, so read it again
        // for the reason (else the report says "failed after 0 attempts: undefined").
        const why = await explainFailure(queues, (await queue.getJob(job.id!)) ?? job);
        throw new BuildFailedError(buildId, why.stage, `build ${buildId}: ${why.message}`);
      }
    }

    let stage: BuildProgress['stage'] = 'train';
    let trainProgress: TrainProgress | undefined;
    if (trainState === 'active' && train && typeof train.progress === 'object' && train.progress !== null) {
      const p = train.progress as Partial<TrainProgress>;
      if (p.step === 'sample' || p.step === 'k-means') trainProgress = p as TrainProgress;
    }
    let shardsDone = 0;
    let shardsActive = 0;
    let activeItems = 0;
    let activeRejected = 0;
    if (merge) {
      const counts = await merge.getDependenciesCount({ processed: true, unprocessed: true });
      shardsDone = counts.processed ?? 0;
      const publishStep = (publish?.progress as { stage?: string } | undefined)?.stage;
      stage = mergeState === 'waiting-children' ? 'shards' : publishState === 'waiting-children' ? 'merge' : publishStep === 'publish' ? 'publish' : 'quality';
      shardStageStartedAt ??= Date.now();
      if (Date.now() - lastValuesAt > 2000 || shardsDone === shardsTotal) {
        lastValuesAt = Date.now();
        const values = Object.values(await merge.getChildrenValues<ShardStats>());
        finishedItems = values.reduce((s, v) => s + v.items, 0);
        finishedRejected = values.reduce((s, v) => s + v.rejected, 0);
        reusedItems = values.reduce((s, v) => s + (v.reused ? v.items : 0), 0);
      }
      for (const job of await queues.queues.shard.getActive()) {
        if (!queues.keys.isShardOf(job.id, buildId)) continue;
        shardsActive++;
        const p = job.progress as { items?: number; rejected?: number } | number;
        if (typeof p === 'object') {
          activeItems += p.items ?? 0;
          activeRejected += p.rejected ?? 0;
        }
      }
    }
    onProgress({
      buildId,
      stage,
      shardsTotal,
      shardsDone,
      shardsActive,
      items: finishedItems + activeItems,
      itemsReused: reusedItems,
      rejected: finishedRejected + activeRejected,
      elapsedMs: Date.now() - started,
      ...(shardStageStartedAt !== undefined ? { shardStageMs: Date.now() - shardStageStartedAt } : {}),
      ...(trainProgress ? { train: trainProgress } : {}),
    });
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}

/**
 * Continues a build whose coordinator died: jobs still queued carry on by themselves; a
 * failed stage is removed and enqueued again, and every shard whose output is already in the
 * store is reused rather than redone (the shard processor checks its recorded checksum).
 */
export async function resumeBuild(queues: BuildQueues, store: ObjectStore, buildId: string): Promise<{ shardCount: number }> {
  const spec = await readBuildSpec(store, buildId);
  const data = { buildId, storeUrl: spec.storeUrl };
  const { shardCount } = await readPlan(store, buildId);
  const publish = await queues.queues.publish.getJob(jobIdFor(buildId, 'publish'));
  const publishState = await stateOf(publish);
  if (publishState === 'completed') return { shardCount };
  const merge = await queues.queues.merge.getJob(jobIdFor(buildId, 'merge'));
  if (publish && (publishState === 'failed' || (await stateOf(merge)) === 'failed')) {
    await publish.remove({ removeChildren: true });
  }
  if (!(await queues.queues.publish.getJob(jobIdFor(buildId, 'publish')))) {
    // No fan-out yet (or it was removed above): run the train job again. Finding the trained
    // index in the store, it only re-adds the fan-out; a waiting or active one is left alone.
    const train = await queues.queues.train.getJob(jobIdFor(buildId, 'train'));
    const state = await stateOf(train);
    if (train && (state === 'failed' || state === 'completed')) await train.remove();
    await queues.enqueueTrain(data);
  }
  return { shardCount };
}
