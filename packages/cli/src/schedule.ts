import { Queue, Worker } from 'bullmq';
import { BuildLockedError } from '@reindex/coordinator';
import { loadConfig } from '@reindex/core';
import { DEFAULT_QUEUE_PREFIX, ReindexKeys, SCHEDULE_QUEUE, createRedis, redisOptionsFromUrl } from '@reindex/queue';
import type { RunArgs } from './args.js';
import { CliError } from './args.js';
import { ProgressDisplay } from './progress.js';
import { runBuild, type RunSummary } from './run.js';

export interface ScheduleOptions {
  /** Cron expression (5 fields, or 6 with seconds); default: the config's `schedule.cron`. */
  cron?: string;
  /** IANA time zone; default: the config's `schedule.timeZone`, else UTC. */
  timeZone?: string;
}

export interface RunningSchedule {
  readonly schedulerId: string;
  /** Redis counters of this schedule: runs started, skipped (a build was running), failed. */
  counts(): Promise<{ ran: number; skipped: number; failed: number }>;
  close(): Promise<void>;
}

export function scheduleCounterKey(name: string, what: 'ran' | 'skipped' | 'failed', keys = new ReindexKeys()): string {
  return keys.scheduleCounter(name, what);
}

/**
 * `reindex schedule`: runs a build on a cron schedule through BullMQ's job scheduler (one
 * scheduler entry per index name, whatever the number of scheduler processes). A tick that
 * finds a build of the same index running is skipped, logged and counted: the build lock in
 * Redis (BuildLock) is what prevents overlaps, for scheduled and manual runs alike.
 */
export async function startSchedule(args: RunArgs, options: ScheduleOptions, display = new ProgressDisplay()): Promise<RunningSchedule> {
  const config = await loadConfig(args.config, args.redis ? { redisUrl: args.redis } : {});
  const redisUrl = config.redisUrl;
  if (!redisUrl) throw new CliError('reindex schedule needs a shared Redis: --redis URL or "redisUrl" in the config');
  const cron = options.cron ?? config.schedule?.cron;
  if (!cron) throw new CliError('reindex schedule needs --cron EXPR or "schedule.cron" in the config');
  const timeZone = options.timeZone ?? config.schedule?.timeZone ?? 'UTC';
  const connection = redisOptionsFromUrl(redisUrl);
  const keys = new ReindexKeys(DEFAULT_QUEUE_PREFIX);
  const counters = createRedis(redisUrl);
  const queue = new Queue(SCHEDULE_QUEUE, { connection, prefix: keys.prefix });
  const schedulerId = `nightly-${config.name}`;
  try {
    await queue.upsertJobScheduler(schedulerId, { pattern: cron, tz: timeZone }, { name: 'scheduled-build', data: { name: config.name } });
  } catch (error) {
    await queue.close();
    counters.disconnect();
    throw new CliError(`invalid schedule "${cron}" in time zone ${timeZone}: ${(error as Error).message}`);
  }
  display.log(`reindex schedule: ${schedulerId} runs "${cron}" (${timeZone}) against ${args.config ?? 'the default config'}`);
  // Concurrency 2: a tick that fires while a build runs is taken at once and skipped, rather
  // than queued behind it and run late.
  const worker = new Worker(
    SCHEDULE_QUEUE,
    async (job): Promise<RunSummary | { skipped: true; reason: string }> => {
      try {
        await counters.incr(scheduleCounterKey(config.name, 'ran', keys));
        const summary = await runBuild({ ...args, redis: redisUrl, json: true, dryRun: false }, display);
        display.log(`reindex schedule: ${job.id}: published ${summary.version} (${summary.items} items in ${summary.seconds.toFixed(1)} s)`);
        return summary;
      } catch (error) {
        if (error instanceof BuildLockedError) {
          await counters.decr(scheduleCounterKey(config.name, 'ran', keys));
          await counters.incr(scheduleCounterKey(config.name, 'skipped', keys));
          display.log(`reindex schedule: ${job.id}: skipped: ${error.message}`);
          return { skipped: true, reason: error.message };
        }
        await counters.incr(scheduleCounterKey(config.name, 'failed', keys));
        display.log(`reindex schedule: ${job.id}: build failed, LATEST stays on the last good version: ${(error as Error).message}`);
        throw error;
      }
    },
    { connection, prefix: DEFAULT_QUEUE_PREFIX, concurrency: 2 },
  );
  worker.on('error', (error) => display.log(`reindex schedule: ${error.message}`));
  return {
    schedulerId,
    async counts() {
      const [ran, skipped, failed] = await counters.mget(
        scheduleCounterKey(config.name, 'ran', keys),
        scheduleCounterKey(config.name, 'skipped', keys),
        scheduleCounterKey(config.name, 'failed', keys),
      );
      return { ran: Number(ran ?? 0), skipped: Number(skipped ?? 0), failed: Number(failed ?? 0) };
    },
    async close() {
      await worker.close();
      await queue.close();
      counters.disconnect();
    },
  };
}
