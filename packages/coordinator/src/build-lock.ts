import os from 'node:os';
import { createRedis } from '@reindex/queue';
import type { Redis } from 'ioredis';

/** How long a build lock lives without renewal. Default 10 minutes; renewed every third of it. */
export const DEFAULT_BUILD_LOCK_TTL_MS = 10 * 60_000;

export class BuildLockedError extends Error {
  override readonly name = 'BuildLockedError';
  readonly code = 'BUILD_LOCKED';
  constructor(readonly indexName: string, readonly holder: string, readonly expiresInMs: number) {
    super(`a build of index "${indexName}" is already running (held by ${holder}; the lock expires in ${Math.ceil(expiresInMs / 1000)} s unless renewed)`);
  }
}

export function buildLockKey(indexName: string): string {
  return `reindex:lock:build:${indexName}`;
}

// Renew or release only a lock we still own: another coordinator may hold it after expiry.
const RENEW = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end";
const RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end";

/**
 * One build per index name at a time, across every coordinator sharing a Redis: a key set
 * with NX and an expiry, renewed while its holder lives, so a coordinator that dies releases it
 * by expiry.
 */
export class BuildLock {
  #timer?: NodeJS.Timeout;
  #released = false;

  private constructor(private readonly redis: Redis, readonly key: string, readonly owner: string, readonly ttlMs: number) {}

  /** Takes the lock or throws BuildLockedError naming the holder. */
  static async acquire(redisUrl: string, indexName: string, options: { ttlMs?: number; renew?: boolean } = {}): Promise<BuildLock> {
    const ttlMs = options.ttlMs ?? DEFAULT_BUILD_LOCK_TTL_MS;
    const redis = createRedis(redisUrl);
    const key = buildLockKey(indexName);
    const owner = `${os.hostname()}:${process.pid}:${new Date().toISOString()}`;
    try {
      const ok = await redis.set(key, owner, 'PX', ttlMs, 'NX');
      if (ok !== 'OK') {
        const [holder, pttl] = await Promise.all([redis.get(key), redis.pttl(key)]);
        throw new BuildLockedError(indexName, holder ?? 'unknown', Math.max(pttl, 0));
      }
    } catch (error) {
      redis.disconnect();
      throw error;
    }
    const lock = new BuildLock(redis, key, owner, ttlMs);
    if (options.renew !== false) {
      lock.#timer = setInterval(() => void redis.eval(RENEW, 1, key, owner, String(ttlMs)).catch(() => undefined), Math.max(ttlMs / 3, 50));
      lock.#timer.unref();
    }
    return lock;
  }

  async release(): Promise<void> {
    if (this.#released) return;
    this.#released = true;
    clearInterval(this.#timer);
    try {
      await this.redis.eval(RELEASE, 1, this.key, this.owner);
    } finally {
      this.redis.disconnect();
    }
  }
}
