import os from 'node:os';
import type { Redis } from 'ioredis';
import { DEFAULT_QUEUE_PREFIX, ReindexKeys, createRedis, redactRedisUrl } from '@reindex/queue';

/**
 * What a worker process publishes about itself every few seconds, as JSON under
 * `<prefix>:workers:<workerId>` with a TTL of three intervals: a worker that dies simply
 * disappears. Read by the dashboard (readHeartbeats); nothing in the pipeline depends on it.
 */
export interface WorkerHeartbeat {
  workerId: string;
  hostname: string;
  pid: number;
  device: string;
  /** Shard jobs this worker runs at once. */
  concurrency: number;
  startedAt: string;
  /** When this record was written (ISO-8601). */
  beatAt: string;
  /** Ids of the jobs in progress. */
  activeJobs: string[];
  /** Items embedded since the worker started. */
  itemsTotal: number;
  /** Items embedded per second over the last ~30 s. */
  itemsPerSecond: number;
  jobsCompleted: number;
  jobsFailed: number;
}

export interface HeartbeatOptions {
  redisUrl: string;
  /** BullMQ key prefix. Default `reindex`. */
  prefix?: string;
  workerId: string;
  device: string;
  concurrency: number;
  /** How often the record is rewritten. Default 5,000 ms; it expires after three intervals. */
  intervalMs?: number;
  /** The live numbers, read at each beat. */
  activity: () => Pick<WorkerHeartbeat, 'activeJobs' | 'itemsTotal' | 'itemsPerSecond' | 'jobsCompleted' | 'jobsFailed'>;
  /** Called when a beat cannot be written (Redis down); the next beat tries again. */
  onError?: (error: Error) => void;
}

export const DEFAULT_HEARTBEAT_INTERVAL_MS = 5_000;

export function heartbeatKey(prefix: string, workerId: string): string {
  return new ReindexKeys(prefix).heartbeat(workerId);
}

export interface HeartbeatHandle {
  /** Stops beating and deletes the record; idempotent. */
  stop(): Promise<void>;
}

/** Starts writing this worker's heartbeat (first beat at once). */
export function startHeartbeat(options: HeartbeatOptions): HeartbeatHandle {
  const prefix = options.prefix ?? DEFAULT_QUEUE_PREFIX;
  const intervalMs = options.intervalMs ?? DEFAULT_HEARTBEAT_INTERVAL_MS;
  const key = heartbeatKey(prefix, options.workerId);
  const redis = createRedis(options.redisUrl);
  redis.on('error', () => undefined); // reported through onError at the next beat
  const startedAt = new Date().toISOString();
  const beat = async () => {
    const record: WorkerHeartbeat = {
      workerId: options.workerId,
      hostname: os.hostname(),
      pid: process.pid,
      device: options.device,
      concurrency: options.concurrency,
      startedAt,
      beatAt: new Date().toISOString(),
      ...options.activity(),
    };
    try {
      await redis.set(key, JSON.stringify(record), 'PX', intervalMs * 3);
    } catch (error) {
      options.onError?.(new Error(`heartbeat to ${redactRedisUrl(options.redisUrl)} failed: ${(error as Error).message}`));
    }
  };
  let pending = beat();
  const timer = setInterval(() => {
    pending = beat();
  }, intervalMs);
  timer.unref();
  let stopped: Promise<void> | undefined;
  return {
    stop() {
      stopped ??= (async () => {
        clearInterval(timer);
        await pending;
        await redis.del(key).catch(() => undefined);
        redis.disconnect();
      })();
      return stopped;
    },
  };
}

/** Every live worker's heartbeat (SCAN, so it never blocks Redis), sorted by worker id. */
export async function readHeartbeats(redis: Redis, prefix = DEFAULT_QUEUE_PREFIX): Promise<WorkerHeartbeat[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', new ReindexKeys(prefix).heartbeatPattern(), 'COUNT', 500);
    cursor = next;
    keys.push(...batch);
  } while (cursor !== '0');
  if (keys.length === 0) return [];
  const values = await redis.mget(...keys);
  const out: WorkerHeartbeat[] = [];
  for (const value of values) {
    if (!value) continue;
    try {
      out.push(JSON.parse(value) as WorkerHeartbeat);
    } catch {
      // a foreign key under the prefix: not ours to interpret
    }
  }
  return out.sort((a, b) => a.workerId.localeCompare(b.workerId));
}
