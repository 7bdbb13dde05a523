import type { Redis } from 'ioredis';
import { ReindexKeys } from '@reindex/queue';

/** One operator action or notable event of a build, newest first in the list. */
export interface BuildLogEntry {
  at: string;
  action: 'retry' | 'cancel' | string;
  message: string;
  /** Who asked: `dashboard` plus the client address, never a credential. */
  by: string;
}

const MAX_ENTRIES = 500;

export function buildLogKey(prefix: string, buildId: string): string {
  return new ReindexKeys(prefix).buildLog(buildId);
}

export function cancelledKey(prefix: string, buildId: string): string {
  return new ReindexKeys(prefix).cancelled(buildId);
}

export async function appendBuildLog(redis: Redis, prefix: string, buildId: string, entry: Omit<BuildLogEntry, 'at'>): Promise<BuildLogEntry> {
  const full: BuildLogEntry = { at: new Date().toISOString(), ...entry };
  await redis
    .multi()
    .lpush(buildLogKey(prefix, buildId), JSON.stringify(full))
    .ltrim(buildLogKey(prefix, buildId), 0, MAX_ENTRIES - 1)
    .exec();
  return full;
}

export async function readBuildLog(redis: Redis, prefix: string, buildId: string, limit = 100): Promise<BuildLogEntry[]> {
  const raw = await redis.lrange(buildLogKey(prefix, buildId), 0, limit - 1);
  return raw.flatMap((line) => {
    try {
      return [JSON.parse(line) as BuildLogEntry];
    } catch {
      return [];
    }
  });
}
