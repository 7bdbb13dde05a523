import os from 'node:os';
import { UnrecoverableError, Worker, type Job } from 'bullmq';
import { setThreads } from '@reindex/faiss';
import { JobDataError, QUEUE_NAMES, STAGES, redisOptionsFromUrl, type StageName, createRedis } from '@reindex/queue';
import { BuildQueues, JOB_ATTEMPTS, startHeartbeat, logJobEvents, type Logger } from '@reindex/pipeline';
import { WorkerContext } from './context.js';
import { classifyFailure } from './failure-class.js';
import { instrumentWorker } from './metrics.js';
import { DEFAULT_WORKER_OPTIONS, defaultFaissThreads, type WorkerOptions } from './options.js';
import { processMerge } from './processors/merge.js';
import { processPublish } from './processors/publish.js';
import { processShard } from './processors/shard.js';
import { processTrain } from './processors/train.js';

export interface RunningWorker {
  readonly workerId: string;
  readonly workers: Record<StageName, Worker>;
  /**
   * Stops taking jobs. Without `force`, waits for the jobs in progress to finish; with it,
   * returns at once and the jobs in progress go back to the queue when their locks expire
   * (BullMQ's stalled-job check), to be run by another worker.
   */
  close(force?: boolean): Promise<void>;
}

/** Starts one BullMQ worker per stage queue in this process. */
export async function startWorker(input: Partial<WorkerOptions> & { redisUrl: string; logger?: Logger }): Promise<RunningWorker> {
  const options: WorkerOptions = { ...DEFAULT_WORKER_OPTIONS, ...input };
  if (options.faissThreads !== undefined) setThreads(options.faissThreads);
  const ctx = new WorkerContext(options);
  const queues = new BuildQueues(options.redisUrl, options.prefix);
  const processors: Record<StageName, (job: Job) => Promise<unknown>> = {
    train: (job) => processTrain(job, ctx, queues),
    shard: (job) => processShard(job, ctx),
    merge: (job) => processMerge(job, ctx),
    publish: (job) => processPublish(job, ctx, queues),
  };
  const connection = redisOptionsFromUrl(options.redisUrl);
  // A build an operator cancelled (the dashboard marks it in Redis) runs nothing more: each of its
  // jobs fails as it starts, which fails its parents, so nothing is merged or published.
  const markers = createRedis(options.redisUrl);
  markers.on('error', () => undefined);
  const refuseCancelled = async (job: Job): Promise<void> => {
    const buildId = (job.data as { buildId?: unknown }).buildId;
    if (typeof buildId !== 'string') return;
    const marker = await markers.get(queues.keys.cancelled(buildId));
    if (marker === null) return;
    const by = (() => {
      try {
        return (JSON.parse(marker) as { by?: string }).by ?? 'an operator';
      } catch {
        return 'an operator';
      }
    })();
    throw new UnrecoverableError(`cancelled by operator (${by})`);
  };
  const workers = Object.fromEntries(
    STAGES.map((stage) => [
      stage,
      new Worker(
        QUEUE_NAMES[stage],
        async (job) => {
          try {
            await refuseCancelled(job);
            return await withFaissThreads(options.faissThreads, () => processors[stage](job));
          } catch (error) {
            // A failure no retry can fix (see classifyFailure) fails the job at once instead of
            // burning its attempts and minutes of the night on reading the same bad bytes again.
            if (classifyFailure(error) === 'permanent' && !(error instanceof UnrecoverableError)) {
              const message = error instanceof Error ? error.message : String(error);
              // The code travels in the reason (BullMQ keeps only the message), for `--json` and the dashboard.
              const code = (error as { code?: unknown }).code;
              const tag = typeof code === 'string' && /^[A-Z][A-Z0-9_]+$/.test(code) ? `${code}; ` : '';
              throw new UnrecoverableError(error instanceof JobDataError ? message : `${message} (${tag}not retried: fix the input, then retry the job)`);
            }
            throw error;
          }
        },
        {
          connection,
          prefix: options.prefix,
          concurrency: stage === 'shard' ? options.concurrency : 1,
          lockDuration: options.lockDurationMs,
          stalledInterval: options.stalledIntervalMs,
          // A job whose worker died (preempted node, OOM kill) goes back to the queue; stalls get as
          // many chances as failures do, twice over, since each retry resumes from what the dead
          // attempt uploaded (the train job's embedded sample, finished shards).
          maxStalledCount: 2 * JOB_ATTEMPTS,
          name: ctx.workerId,
        },
      ),
    ]),
  ) as Record<StageName, Worker>;
  const logger = input.logger;
  for (const worker of Object.values(workers)) {
    worker.on('error', (error) =>
      logger ? logger.error({ workerId: ctx.workerId, err: error.message }, 'worker error') : console.error(`reindex-worker: ${error.message}`),
    );
  }
  // Observability hooks: Prometheus counters, the dashboard's heartbeat, structured job logs.
  const instrumented = instrumentWorker(ctx.workerId, workers, options.concurrency);
  const heartbeat = startHeartbeat({
    redisUrl: options.redisUrl,
    prefix: options.prefix,
    workerId: ctx.workerId,
    device: options.device,
    concurrency: options.concurrency,
    activity: () => instrumented.activity.snapshot(),
    ...(logger ? { onError: (error: Error) => logger.warn({ workerId: ctx.workerId, err: error.message }, 'heartbeat failed') } : {}),
  });
  if (logger) logJobEvents(workers, logger.child({ workerId: ctx.workerId }));
  let closing: Promise<void> | undefined;
  return {
    workerId: ctx.workerId,
    workers,
    close(force = false) {
      closing ??= (async () => {
        await Promise.all(Object.values(workers).map((w) => w.close(force)));
        await heartbeat.stop();
        instrumented.detach();
        await queues.close();
        markers.disconnect();
        await ctx.close();
      })();
      return closing;
    },
  };
}

/** Jobs running in this process now, across every in-process worker (faiss threads are process-wide). */
let jobsRunning = 0;

/**
 * Runs a job with faiss's OpenMP threads set to the cores split between the jobs running in
 * this process (`defaultFaissThreads`), unless a fixed count is configured: a lone train or
 * merge job gets every core, two shard jobs on 2 cores one each.
 */
async function withFaissThreads<T>(fixed: number | undefined, run: () => Promise<T>): Promise<T> {
  const apply = () => {
    if (fixed === undefined) setThreads(defaultFaissThreads(jobsRunning, os.availableParallelism()));
  };
  jobsRunning++;
  apply();
  try {
    return await run();
  } finally {
    jobsRunning--;
    apply();
  }
}
