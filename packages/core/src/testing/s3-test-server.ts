import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { S3Options } from '../store/s3-options.js';

/** A real S3-protocol server (s3rver) on 127.0.0.1, in a child process, for tests. */
export interface S3TestServer {
  /** `http://127.0.0.1:<port>` */
  endpoint: string;
  /** S3 options that reach this server (path style, its fixed credentials). */
  s3Options: S3Options;
  /** Stops the server and deletes its data directory. Idempotent. */
  stop(): Promise<void>;
}

/**
 * Starts s3rver with the given buckets in a fresh temp directory. s3rver is a devDependency of
 * @reindex/core; packages using this helper need it as a devDependency too.
 */
export async function startS3TestServer(buckets: string[] = ['reindex-test']): Promise<S3TestServer> {
  const directory = await mkdtemp(join(tmpdir(), 'reindex-s3rver-'));
  const script = fileURLToPath(new URL('./s3rver-child.js', import.meta.url));
  const child = spawn(process.execPath, ['--openssl-legacy-provider', script, directory, buckets.join(',')], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  let port: number;
  try {
    port = await readPort(child);
  } catch (error) {
    child.kill();
    await rm(directory, { recursive: true, force: true });
    throw error;
  }
  const endpoint = `http://127.0.0.1:${port}`;
  let stopped = false;
  return {
    endpoint,
    s3Options: {
      endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.stdin?.end();
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
      await rm(directory, { recursive: true, force: true });
    },
  };
}

function readPort(child: ChildProcess): Promise<number> {
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    child.once('exit', (code) => reject(new Error(`s3rver child exited with code ${code} before listening`)));
    lines.once('line', (line) => {
      try {
        resolve((JSON.parse(line) as { port: number }).port);
      } catch (error) {
        reject(new Error(`unexpected s3rver child output: ${line}`, { cause: error }));
      }
    });
  });
}
