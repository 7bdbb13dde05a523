#!/usr/bin/env node
// reindex-worker: a standalone worker process. REDIS_URL=redis://... reindex-worker [--concurrency N] [--device cpu|cuda]
import { parseArgs } from 'node:util';
import { DEFAULT_WORKER_OPTIONS } from './options.js';
import { startWorker } from './worker.js';

const { values } = parseArgs({
  options: {
    redis: { type: 'string' },
    concurrency: { type: 'string' },
    device: { type: 'string' },
    'batch-size': { type: 'string' },
    'shutdown-timeout-ms': { type: 'string' },
  },
});
function fail(message: string): never {
  process.stderr.write(`reindex-worker: ${message}\n`);
  process.exit(2);
}
function positive(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 1) fail(`--${name} must be a positive integer, got ${JSON.stringify(raw)}`);
  return n;
}
const redisUrl = values.redis ?? process.env.REDIS_URL;
if (!redisUrl) fail('set REDIS_URL (or --redis) to the queue\'s redis:// URL');
const device = values.device ?? process.env.REINDEX_DEVICE ?? DEFAULT_WORKER_OPTIONS.device;
if (device !== 'cpu' && device !== 'cuda') fail(`--device must be cpu or cuda, got ${JSON.stringify(device)}`);
const concurrency = positive('concurrency', values.concurrency ?? process.env.REINDEX_WORKER_CONCURRENCY, DEFAULT_WORKER_OPTIONS.concurrency);
const batchSize = positive('batch-size', values['batch-size'], device === 'cuda' ? 2048 : DEFAULT_WORKER_OPTIONS.batchSize);
const shutdownTimeoutMs = positive('shutdown-timeout-ms', values['shutdown-timeout-ms'], 240_000);

const worker = await startWorker({ redisUrl, device, concurrency, batchSize });
process.stderr.write(`reindex-worker ${worker.workerId}: ${device}, concurrency ${concurrency}, waiting for jobs\n`);
let stopping = false;
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    // Finish the jobs in progress; past the timeout, hand them back (their locks lapse and
    // BullMQ's stalled-job check gives them to another worker).
    process.stderr.write(`reindex-worker: ${signal}: finishing jobs in progress (up to ${shutdownTimeoutMs} ms)\n`);
    const timer = setTimeout(() => void worker.close(true).finally(() => process.exit(0)), shutdownTimeoutMs);
    void worker.close(false).finally(() => {
      clearTimeout(timer);
      process.exit(0);
    });
  });
}
