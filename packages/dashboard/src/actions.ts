import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { attemptsPhrase } from '@reindex/core';
import { QUEUE_NAMES, STAGES, jobIdFor, type StageName } from '@reindex/queue';
import { appendBuildLog, cancelledKey, type BuildLogEntry } from './build-log.js';
import { cancelJobs, reopenFailedParents } from './bullmq-scripts.js';

export class ActionError extends Error {
  override readonly name = 'ActionError';
  constructor(readonly code: 'JOB_NOT_FOUND' | 'NOT_FAILED' | 'BUILD_CANCELLED' | 'BUILD_FINISHED' | 'BAD_REQUEST', message: string, readonly httpStatus = 409) {
    super(message);
  }
}

export interface ActionContext {
  redis: Redis;
  prefix: string;
  queues: Record<StageName, Queue>;
}

export interface RetryResult { jobId: string; reopened: string[]; log: BuildLogEntry }

/**
 * Retries a job of a build that failed for good, with fresh attempts. A shard that failed
 * its merge (and so the publish, failParentOnFailure) also moves those back to waiting for
 * their children: when the shard succeeds the build carries on to merge and publish, which
 * is what an operator pressing "retry" expects. Recorded in the build's log.
 */
export async function retryJob(ctx: ActionContext, buildId: string, stage: StageName, shard: number | undefined, by: string): Promise<RetryResult> {
  if (await ctx.redis.exists(cancelledKey(ctx.prefix, buildId))) throw new ActionError('BUILD_CANCELLED', `build ${buildId} was cancelled; start a new build instead`);
  let jobId: string;
  try {
    jobId = jobIdFor(buildId, stage, shard);
  } catch (error) {
    throw new ActionError('BAD_REQUEST', (error as Error).message, 400);
  }
  const job = await ctx.queues[stage].getJob(jobId);
  if (!job) throw new ActionError('JOB_NOT_FOUND', `no ${stage} job ${jobId}`, 404);
  const state = await job.getState();
  if (state !== 'failed') throw new ActionError('NOT_FAILED', `${jobId} is ${state}, not failed: only failed jobs can be retried`);
  const previous = job.failedReason;
  const attempts = job.attemptsMade;
  await job.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
  const reopened = await reopenFailedParents(ctx.redis, `${ctx.prefix}:${QUEUE_NAMES[stage]}:${jobId}`);
  const what = stage === 'shard' ? `shard ${shard}` : stage;
  const message = `retry ${what} (${jobId}) after ${attemptsPhrase(attempts, 'failed')}: ${previous ?? 'unknown error'}` + (reopened.length ? `; ${reopened.join(', ')} waiting for it again` : '');
  const log = await appendBuildLog(ctx.redis, ctx.prefix, buildId, { action: 'retry', message, by });
  await ctx.queues.train.getJob(jobIdFor(buildId, 'train')).then((t) => t?.log(`[dashboard] ${message}`)).catch(() => undefined);
  return { jobId, reopened, log };
}

export interface CancelResult { cancelledJobs: string[]; running: string[]; log: BuildLogEntry }

/**
 * Cancels a build: marks it cancelled, then moves every job of it that has not started
 * (waiting, delayed, waiting for children) to failed with reason "cancelled", in one atomic
 * step. Jobs already running finish their attempt, but their parents are failed so nothing
 * is merged or published. A placeholder publish job keeps a train job that is still running
 * from fanning the build out. Recorded in the build's log.
 */
export async function cancelBuild(ctx: ActionContext, buildId: string, shardCount: number, by: string): Promise<CancelResult> {
  const publishId = jobIdFor(buildId, 'publish');
  const publish = await ctx.queues.publish.getJob(publishId);
  if (publish && (await publish.getState()) === 'completed') throw new ActionError('BUILD_FINISHED', `build ${buildId} is already published`);
  const already = await ctx.redis.get(cancelledKey(ctx.prefix, buildId));
  const reason = `cancelled by operator (${by})`;
  if (!already) await ctx.redis.set(cancelledKey(ctx.prefix, buildId), JSON.stringify({ at: new Date().toISOString(), by }));
  if (!publish) {
    // enqueueFanOut adds nothing once a publish job of the build exists.
    await ctx.queues.publish.add('cancelled', { buildId, cancelled: true }, { jobId: publishId, delay: 10 * 365 * 24 * 3600 * 1000, attempts: 1 });
  }
  const jobs: Array<{ queueKey: string; jobId: string }> = [];
  const ids: Record<StageName, string[]> = {
    train: [jobIdFor(buildId, 'train')],
    shard: Array.from({ length: shardCount }, (_, i) => jobIdFor(buildId, 'shard', i)),
    merge: [jobIdFor(buildId, 'merge')],
    publish: [publishId],
  };
  for (const stage of STAGES) for (const jobId of ids[stage]) jobs.push({ queueKey: `${ctx.prefix}:${QUEUE_NAMES[stage]}`, jobId });
  const cancelledJobs = await cancelJobs(ctx.redis, jobs, reason);
  const running: string[] = [];
  for (const stage of STAGES) {
    for (const job of await ctx.queues[stage].getActive()) {
      if (job.id && ids[stage].includes(job.id)) running.push(job.id);
    }
  }
  const message = `cancel build: ${cancelledJobs.length} job(s) stopped before starting` + (running.length ? `, ${running.length} running job(s) left to finish (${running.join(', ')})` : '');
  const log = await appendBuildLog(ctx.redis, ctx.prefix, buildId, { action: 'cancel', message, by });
  await ctx.queues.train.getJob(jobIdFor(buildId, 'train')).then((t) => t?.log(`[dashboard] ${message}`)).catch(() => undefined);
  return { cancelledJobs, running, log };
}

export async function readCancelled(redis: Redis, prefix: string, buildId: string): Promise<{ at: string; by: string } | null> {
  const raw = await redis.get(cancelledKey(prefix, buildId));
  return raw ? (JSON.parse(raw) as { at: string; by: string }) : null;
}
