import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { readHeartbeats } from '@reindex/pipeline';

export interface LiveWorker {
  workerId: string;
  /** `heartbeat`: the worker's own record (device, throughput); `connection`: only seen as a BullMQ connection. */
  source: 'heartbeat' | 'connection';
  hostname: string | null;
  device: string | null;
  concurrency: number | null;
  lastHeartbeat: string | null;
  heartbeatAgeSeconds: number | null;
  itemsPerSecond: number | null;
  itemsTotal: number | null;
  activeJobs: string[];
  jobsCompleted: number | null;
  jobsFailed: number | null;
}

/**
 * Live workers: the heartbeats workers write (device, throughput) joined with BullMQ's own
 * view of the connections on the shard queue (`queue.getWorkers()`, CLIENT LIST), so a
 * worker without heartbeats still shows.
 */
export async function liveWorkers(redis: Redis, prefix: string, shardQueue: Queue): Promise<LiveWorker[]> {
  const [beats, clients] = await Promise.all([readHeartbeats(redis, prefix), shardQueue.getWorkers().catch(() => [] as Array<Record<string, string>>)]);
  const now = Date.now();
  const byId = new Map<string, LiveWorker>();
  for (const b of beats) {
    byId.set(b.workerId, {
      workerId: b.workerId,
      source: 'heartbeat',
      hostname: b.hostname,
      device: b.device,
      concurrency: b.concurrency,
      lastHeartbeat: b.beatAt,
      heartbeatAgeSeconds: Math.max(0, (now - Date.parse(b.beatAt)) / 1000),
      itemsPerSecond: b.itemsPerSecond,
      itemsTotal: b.itemsTotal,
      activeJobs: b.activeJobs,
      jobsCompleted: b.jobsCompleted,
      jobsFailed: b.jobsFailed,
    });
  }
  for (const client of clients) {
    const name = client.name ?? '';
    const marker = name.indexOf(':w:');
    const workerId = marker >= 0 ? name.slice(marker + 3) : '';
    if (!workerId || byId.has(workerId)) continue;
    byId.set(workerId, {
      workerId,
      source: 'connection',
      hostname: null,
      device: null,
      concurrency: null,
      lastHeartbeat: null,
      heartbeatAgeSeconds: null,
      itemsPerSecond: null,
      itemsTotal: null,
      activeJobs: [],
      jobsCompleted: null,
      jobsFailed: null,
    });
  }
  return [...byId.values()].sort((a, b) => a.workerId.localeCompare(b.workerId));
}
