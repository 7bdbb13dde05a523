import { redactSecrets, ReindexError } from '@reindex/core';
import { Redis } from 'ioredis';

export class RedisUnavailableError extends ReindexError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('REDIS_UNAVAILABLE', message, options);
  }
}

/** The URL with any credentials replaced, for logs and pages (core's redactSecrets). */
export function redactRedisUrl(url: string): string {
  return redactSecrets(url);
}

/** Connection options parsed from a URL; accepted as-is by ioredis and by BullMQ classes. */
export interface RedisConnectionOptions {
  host: string;
  port: number;
  username?: string;
  password?: string;
  db: number;
  tls?: Record<string, never>;
  maxRetriesPerRequest: null;
}

/** Options for a `redis://` or `rediss://` URL, as BullMQ wants them. */
export function redisOptionsFromUrl(url: string): RedisConnectionOptions {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new TypeError(`a Redis URL must be redis:// or rediss://, got ${JSON.stringify(redactRedisUrl(url))}`);
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') {
    throw new TypeError(`a Redis URL must be redis:// or rediss://, got ${redactRedisUrl(url)}`);
  }
  const db = u.pathname.length > 1 ? Number(u.pathname.slice(1)) : 0;
  if (!Number.isInteger(db) || db < 0) throw new TypeError(`the database of a Redis URL (its path) must be a non-negative integer, got ${u.pathname.slice(1)}`);
  return {
    host: u.hostname || '127.0.0.1',
    port: u.port ? Number(u.port) : 6379,
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    db,
    ...(u.protocol === 'rediss:' ? { tls: {} } : {}),
    // BullMQ's workers block on Redis; they must retry forever rather than fail a command.
    maxRetriesPerRequest: null,
  };
}

/** A connection for BullMQ classes. */
export function createRedis(url: string): Redis {
  return new Redis(redisOptionsFromUrl(url));
}

/**
 * Fails fast, with the address (password hidden), when Redis cannot be reached: BullMQ
 * itself would retry forever and a CLI would hang.
 */
export async function assertRedisReachable(url: string, timeoutMs = 3000): Promise<void> {
  const client = new Redis({
    ...redisOptionsFromUrl(url),
    lazyConnect: true,
    connectTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
  });
  // The first error the connection reports says why (WRONGPASS, NOAUTH, ECONNREFUSED); the
  // rejected connect() often only says "Connection is closed." after it.
  let firstError: Error | undefined;
  client.on('error', (error: Error) => {
    firstError ??= error;
  });
  try {
    await client.connect();
    await client.ping();
  } catch (error) {
    const reason =
      firstError && firstError.message !== (error as Error).message ? `${firstError.message} (${(error as Error).message})` : (error as Error).message;
    const hint = /WRONGPASS|NOAUTH|invalid password|AUTH/i.test(reason) ? '; check the password (or user) in the Redis URL' : '';
    throw new RedisUnavailableError(redactSecrets(`cannot reach Redis at ${redactRedisUrl(url)}: ${reason}${hint}`), { cause: error });
  } finally {
    client.disconnect();
  }
}
