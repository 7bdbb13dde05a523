import os from 'node:os';
import { ReindexError } from '@reindex/core';
import { ReindexKeys, createRedis } from '@reindex/queue';
import type { Redis } from 'ioredis';

/**
 * How long a build lock lives without renewal. Default 30 s, renewed every third of it: a
 * coordinator that dies frees the index name within 30 s (one PEXPIRE per 10 s while it lives),
 * and `reindex --resume <buildId>` of its build takes the lock over at once.
 */
export const DEFAULT_BUILD_LOCK_TTL_MS = 30_000;

export class BuildLockedError extends ReindexError {
  constructor(
    readonly indexName: string,
    readonly holder: string,
    readonly expiresInMs: number,
    readonly buildId?: string,
  ) {
    super(
      'BUILD_LOCKED',
      `a build of index "${indexName}" is already running (held by ${holder}${buildId ? ` for build ${buildId}` : ''}; the lock expires in ${Math.ceil(expiresInMs / 1000)} s unless renewed)` +
        (buildId ? `; if that coordinator is gone, \`reindex --resume ${buildId}\` takes its build over now` : ''),
    );
  }
}

/** What the lock key holds: who holds it and, once planned, for which build. */
interface LockValue {
  owner: string;
  buildId?: string;
}

function parseLockValue(raw: string | null): LockValue {
  if (raw === null) return { owner: 'unknown' };
  try {
    const value = JSON.parse(raw) as Partial<LockValue>;
    if (typeof value.owner === 'string') return { owner: value.owner, ...(typeof value.buildId === 'string' ? { buildId: value.buildId } : {}) };
  } catch {
    // a lock written by an older coordinator: a bare owner string
  }
  return { owner: raw };
}

export function buildLockKey(indexName: string, keys = new ReindexKeys()): string {
  return keys.buildLock(indexName);
}

// Renew, release or rewrite only a lock we still own: another coordinator may hold it after
// expiry, or have taken it over to resume our build.
const RENEW = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end";
const RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end";
const REPLACE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('set', KEYS[1], ARGV[2], 'PX', ARGV[3]) else return nil end";

/**
 * One build per index name at a time, across every coordinator sharing a Redis: a key set
 * with NX and an expiry, renewed while its holder lives, so a coordinator that dies releases it
 * by expiry.
 */
export class BuildLock {
  #timer?: NodeJS.Timeout;
  #released = false;
  #value: string;

  private constructor(
    private readonly redis: Redis,
    readonly key: string,
    readonly owner: string,
    readonly ttlMs: number,
    value: string,
  ) {
    this.#value = value;
  }

  /**
   * Takes the lock or throws BuildLockedError naming the holder and its build. With
   * `resumeBuildId`, a lock held for that same build is taken over (its coordinator is gone, or
   * the operator chose to drive the build from here): resume never waits for the TTL.
   */
  static async acquire(redisUrl: string, indexName: string, options: { ttlMs?: number; renew?: boolean; resumeBuildId?: string } = {}): Promise<BuildLock> {
    const ttlMs = options.ttlMs ?? DEFAULT_BUILD_LOCK_TTL_MS;
    const redis = createRedis(redisUrl);
    const key = buildLockKey(indexName);
    const owner = `${os.hostname()}:${process.pid}:${new Date().toISOString()}`;
    const value = JSON.stringify({ owner, ...(options.resumeBuildId ? { buildId: options.resumeBuildId } : {}) } satisfies LockValue);
    try {
      let ok = (await redis.set(key, value, 'PX', ttlMs, 'NX')) === 'OK';
      if (!ok) {
        const [raw, pttl] = await Promise.all([redis.get(key), redis.pttl(key)]);
        const held = parseLockValue(raw);
        if (options.resumeBuildId !== undefined && held.buildId === options.resumeBuildId && raw !== null) {
          ok = (await redis.eval(REPLACE, 1, key, raw, value, String(ttlMs))) === 'OK';
        }
        if (!ok) throw new BuildLockedError(indexName, held.owner, Math.max(pttl, 0), held.buildId);
      }
    } catch (error) {
      redis.disconnect();
      throw error;
    }
    const lock = new BuildLock(redis, key, owner, ttlMs, value);
    if (options.renew !== false) {
      lock.#timer = setInterval(() => void redis.eval(RENEW, 1, key, lock.#value, String(ttlMs)).catch(() => undefined), Math.max(ttlMs / 3, 50));
      lock.#timer.unref();
    }
    return lock;
  }

  /** Records the build this lock is held for, so that `--resume <buildId>` can take it over. */
  async recordBuild(buildId: string): Promise<void> {
    const value = JSON.stringify({ owner: this.owner, buildId } satisfies LockValue);
    const replaced = await this.redis.eval(REPLACE, 1, this.key, this.#value, value, String(this.ttlMs));
    if (replaced !== 'OK') throw new ReindexError('BUILD_LOCK_LOST', `the build lock ${this.key} is no longer ours (expired or taken over)`);
    this.#value = value;
  }

  async release(): Promise<void> {
    if (this.#released) return;
    this.#released = true;
    clearInterval(this.#timer);
    try {
      await this.redis.eval(RELEASE, 1, this.key, this.#value);
    } finally {
      this.redis.disconnect();
    }
  }
}
