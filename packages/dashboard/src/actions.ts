import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { resumeBuild } from '@reindex/coordinator';
import { ReindexError, attemptsPhrase, type ObjectStore } from '@reindex/core';
import { STAGES, jobIdFor, type StageName } from '@reindex/queue';
import { readPlan, type BuildQueues } from '@reindex/pipeline';
import { appendBuildLog, cancelledKey, type BuildLogEntry } from './build-log.js';

export type ActionErrorCode = 'JOB_NOT_FOUND' | 'NOT_FAILED' | 'BUILD_CANCELLED' | 'BUILD_FINISHED' | 'BUILD_BUSY' | 'BAD_REQUEST';

export class ActionError extends ReindexError {
  declare readonly code: ActionErrorCode;
  constructor(
    code: ActionErrorCode,
    message: string,
    readonly httpStatus = 409,
  ) {
    super(code, message);
  }
}

export interface ActionContext {
  redis: Redis;
  prefix: string;
  queues: Record<StageName, Queue>;
  /** The queues as the coordinator drives them (resume re-adds a build's flow). */
  build: BuildQueues;
  /** The store a job's payload names. */
  store(url: string): ObjectStore;
}

export interface RetryResult {
  jobId: string;
  /** Failed jobs of the build queued again by this retry (with their reasons in the log). */
  requeued: string[];
  /** The job was already queued again (an earlier retry of the build re-ran every failed part). */
  alreadyQueued: boolean;
  log: BuildLogEntry;
}

/** The job ids of every stage of a build. */
function buildJobIds(buildId: string, shardCount: number): Record<StageName, string[]> {
  return {
    train: [jobIdFor(buildId, 'train')],
    shard: Array.from({ length: shardCount }, (_, i) => jobIdFor(buildId, 'shard', i)),
    merge: [jobIdFor(buildId, 'merge')],
    publish: [jobIdFor(buildId, 'publish')],
  };
}

/**
 * Retries a build that failed for good, through BullMQ's public API only. A failed train job
 * is retried with fresh attempts (`job.retry`). A failed shard, merge or publish failed its
 * parents too (failParentOnFailure): the build is resumed as `reindex --resume` does (the
 * failed flow removed and added again; every shard whose output is in the store is reused, not
 * redone), so retrying one shard re-runs every failed part of the build. Each failed job queued
 * again is recorded in the build's log with its attempts and error.
 */
export async function retryJob(ctx: ActionContext, buildId: string, stage: StageName, shard: number | undefined, by: string): Promise<RetryResult> {
  if (await ctx.redis.exists(cancelledKey(ctx.prefix, buildId)))
    throw new ActionError('BUILD_CANCELLED', `build ${buildId} was cancelled; start a new build instead`);
  let jobId: string;
  try {
    jobId = jobIdFor(buildId, stage, shard);
  } catch (error) {
    throw new ActionError('BAD_REQUEST', (error as Error).message, 400);
  }
  const job = await ctx.queues[stage].getJob(jobId);
  if (!job) throw new ActionError('JOB_NOT_FOUND', `no ${stage} job ${jobId}`, 404);
  const state = await job.getState();
  const what = (s: StageName, id: string) => (s === 'shard' ? `shard ${Number(id.slice(id.lastIndexOf('-') + 1))}` : s);
  if (state !== 'failed') {
    if (state === 'completed') throw new ActionError('NOT_FAILED', `${jobId} is completed, not failed: only failed jobs can be retried`);
    // Queued or running: an earlier retry of this build (which re-runs every failed part) got it.
    const log = await appendBuildLog(ctx.redis, ctx.prefix, buildId, {
      action: 'retry',
      message: `retry ${what(stage, jobId)} (${jobId}): already queued again (${state})`,
      by,
    });
    return { jobId, requeued: [], alreadyQueued: true, log };
  }
  const failed: Array<{ stage: StageName; id: string; attempts: number; reason: string }> = [];
  if (stage === 'train') {
    failed.push({ stage, id: jobId, attempts: job.attemptsMade, reason: job.failedReason ?? 'unknown error' });
    await job.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
  } else {
    const storeUrl = (job.data as { storeUrl?: unknown }).storeUrl;
    if (typeof storeUrl !== 'string') throw new ActionError('BAD_REQUEST', `${jobId} names no store; resume the build with reindex --resume ${buildId}`, 400);
    const store = ctx.store(storeUrl);
    const ids = buildJobIds(buildId, (await readPlan(store, buildId)).shardCount);
    for (const s of ['shard', 'merge', 'publish'] as const) {
      for (const id of ids[s]) {
        const j = await ctx.queues[s].getJob(id);
        // A parent failed by its child carries the child's reason: report the child, not twice.
        if (j && (await j.getState()) === 'failed' && (s === 'shard' || failed.length === 0))
          failed.push({ stage: s, id, attempts: j.attemptsMade, reason: j.failedReason ?? 'unknown error' });
      }
    }
    try {
      await resumeBuild(ctx.build, store, buildId);
    } catch (error) {
      if (/locked/i.test((error as Error).message))
        throw new ActionError('BUILD_BUSY', `jobs of build ${buildId} are still running: retry when they have finished (${(error as Error).message})`);
      throw error;
    }
  }
  let log: BuildLogEntry | undefined;
  for (const f of failed) {
    log = await appendBuildLog(ctx.redis, ctx.prefix, buildId, {
      action: 'retry',
      message: `retry ${what(f.stage, f.id)} (${f.id}) after ${attemptsPhrase(f.attempts, 'failed')}: ${f.reason}`,
      by,
    });
  }
  const message = `${failed.length} failed job(s) of build ${buildId} queued again${stage === 'train' ? '' : '; finished shards are reused'}`;
  await ctx.queues.train
    .getJob(jobIdFor(buildId, 'train'))
    .then((t) => t?.log(`[dashboard] ${message}`))
    .catch(() => undefined);
  return {
    jobId,
    requeued: failed.map((f) => f.id),
    alreadyQueued: false,
    log: log ?? (await appendBuildLog(ctx.redis, ctx.prefix, buildId, { action: 'retry', message, by })),
  };
}

export interface CancelResult {
  /** Jobs that had not started: each fails as cancelled when a worker takes it. */
  cancelledJobs: string[];
  /** Jobs running now: they finish their attempt; nothing after them is merged or published. */
  running: string[];
  log: BuildLogEntry;
}

/**
 * Cancels a build without touching BullMQ's internal state: the build is marked cancelled in
 * Redis, and every worker fails a job of a cancelled build as it starts it (UnrecoverableError,
 * "cancelled by operator"), which fails its parents through failParentOnFailure, so nothing is
 * merged or published. Jobs already running finish their attempt. Recorded in the build's log.
 */
export async function cancelBuild(ctx: ActionContext, buildId: string, shardCount: number, by: string): Promise<CancelResult> {
  const publish = await ctx.queues.publish.getJob(jobIdFor(buildId, 'publish'));
  if (publish && (await publish.getState()) === 'completed') throw new ActionError('BUILD_FINISHED', `build ${buildId} is already published`);
  if (!(await ctx.redis.get(cancelledKey(ctx.prefix, buildId)))) {
    await ctx.redis.set(cancelledKey(ctx.prefix, buildId), JSON.stringify({ at: new Date().toISOString(), by }));
  }
  const ids = buildJobIds(buildId, shardCount);
  const cancelledJobs: string[] = [];
  const running: string[] = [];
  for (const stage of STAGES) {
    for (const id of ids[stage]) {
      const job = await ctx.queues[stage].getJob(id);
      const state = job ? await job.getState() : 'missing';
      if (state === 'active') running.push(id);
      else if (state !== 'missing' && state !== 'completed' && state !== 'failed') cancelledJobs.push(id);
    }
  }
  const message = `cancel build: ${cancelledJobs.length} job(s) stopped before starting${running.length ? `, ${running.length} running job(s) left to finish (${running.join(', ')})` : ''}`;
  const log = await appendBuildLog(ctx.redis, ctx.prefix, buildId, { action: 'cancel', message, by });
  await ctx.queues.train
    .getJob(jobIdFor(buildId, 'train'))
    .then((t) => t?.log(`[dashboard] ${message}`))
    .catch(() => undefined);
  return { cancelledJobs, running, log };
}

export async function readCancelled(redis: Redis, prefix: string, buildId: string): Promise<{ at: string; by: string } | null> {
  const raw = await redis.get(cancelledKey(prefix, buildId));
  return raw ? (JSON.parse(raw) as { at: string; by: string }) : null;
}
