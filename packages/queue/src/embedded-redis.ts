import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { assertRedisReachable, RedisUnavailableError } from './redis.js';

export interface EmbeddedRedisOptions {
  /** The server binary. Default `redis-server` on PATH (Debian's package). */
  binary?: string;
  /** How long to wait for the server to answer. Default 10,000 ms. */
  startTimeoutMs?: number;
}

export interface EmbeddedRedis {
  readonly url: string;
  readonly port: number;
  /** Stops the server and removes its directory; idempotent. */
  stop(): Promise<void>;
}

async function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

const running = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // A private server must never outlive the process that started it, even on process.exit().
  process.on('exit', () => {
    for (const child of running) child.kill('SIGKILL');
  });
}

/**
 * Starts a private redis-server on a free loopback port, with no persistence, for the
 * zero-configuration run and for tests. Nothing else can reach it (bound to 127.0.0.1).
 */
export async function startEmbeddedRedis(options: EmbeddedRedisOptions = {}): Promise<EmbeddedRedis> {
  const binary = options.binary ?? 'redis-server';
  const timeoutMs = options.startTimeoutMs ?? 10_000;
  const dir = await mkdtemp(path.join(os.tmpdir(), 'reindex-redis-'));
  for (let attempt = 0; ; attempt++) {
    const port = await freeLoopbackPort();
    const child = spawn(
      binary,
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
        '--dir',
        dir,
        '--daemonize',
        'no',
        '--loglevel',
        'warning',
        '--maxmemory-policy',
        'noeviction',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));
    running.add(child);
    installExitHook();
    const url = `redis://127.0.0.1:${port}`;
    const deadline = Date.now() + timeoutMs;
    let lastError: unknown;
    while (Date.now() < deadline) {
      const early = await Promise.race([
        exited.then((code) => ({ code })),
        spawnError.then((error) => ({ error })),
        new Promise<null>((r) => setTimeout(() => r(null), 50)),
      ]);
      if (early && 'error' in early) {
        running.delete(child);
        await rm(dir, { recursive: true, force: true });
        throw new RedisUnavailableError(`cannot start ${binary}: ${early.error.message} (install it with scripts/setup.sh, or pass --redis URL)`, {
          cause: early.error,
        });
      }
      if (early && 'code' in early) break;
      try {
        await assertRedisReachable(url, 500);
        const stop = async () => {
          if (!running.delete(child)) return;
          child.kill('SIGTERM');
          await exited;
          await rm(dir, { recursive: true, force: true });
        };
        return { url, port, stop };
      } catch (error) {
        lastError = error;
      }
    }
    running.delete(child);
    child.kill('SIGKILL');
    if (attempt < 2 && /Address already in use/.test(stderr)) continue; // lost a port race
    await rm(dir, { recursive: true, force: true });
    throw new RedisUnavailableError(`redis-server did not start on port ${port}: ${stderr.trim() || String(lastError)}`);
  }
}
