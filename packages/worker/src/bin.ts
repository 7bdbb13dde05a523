#!/usr/bin/env node
// reindex-worker: a standalone worker process. REDIS_URL=redis://... reindex-worker [--concurrency N] [--device cpu|cuda]
//   [--metrics-port 9464 (0 = off)] [--metrics-host 0.0.0.0] [--config FILE (its s3 options)]
//   [--lock-duration-ms N] [--stalled-interval-ms N] [--batch-size N] [--intra-op-threads N].
//   Logs are JSON lines (pino) on stdout.
import { parseArgs } from 'node:util';
import { emptyFlag, loadConfig, commandLineArgs, parseIntegerFlag } from '@reindex/core';
import { nativeTasksSettled } from '@reindex/faiss';
import { assertRedisReachable, redactRedisUrl } from '@reindex/queue';
import { createLogger } from '@reindex/pipeline';
import { startMetricsServer, type MetricsServer } from './metrics.js';
import { DEFAULT_WORKER_OPTIONS, WORKER_BIN_DEFAULTS, threadPoolSizeFor } from './options.js';
import { startWorker } from './worker.js';

function fail(message: string): never {
  process.stderr.write(`reindex-worker: ${message}\n`);
  process.exit(2);
}
function parseCommandLine() {
  try {
    return parseArgs({
      args: commandLineArgs(),
      options: {
        redis: { type: 'string' },
        concurrency: { type: 'string' },
        device: { type: 'string' },
        'batch-size': { type: 'string' },
        'intra-op-threads': { type: 'string' },
        'shutdown-timeout-ms': { type: 'string' },
        'metrics-port': { type: 'string' },
        'metrics-host': { type: 'string' },
        config: { type: 'string' },
        'lock-duration-ms': { type: 'string' },
        'stalled-interval-ms': { type: 'string' },
      },
    });
  } catch (error) {
    // Unknown or malformed options: one clear line, not a stack trace.
    return fail((error as Error).message);
  }
}
const { values } = parseCommandLine();
const empty = emptyFlag(values);
if (empty !== undefined) fail(`--${empty} must not be empty`);

function integerFlag(name: string, raw: string | undefined, fallback: number, min = 1, max?: number): number {
  if (raw === undefined) return fallback;
  const n = parseIntegerFlag(name, raw, { min, ...(max !== undefined ? { max } : {}) });
  return typeof n === 'number' ? n : fail(n.problem);
}
const positive = (name: string, raw: string | undefined, fallback: number): number => integerFlag(name, raw, fallback);
const redisUrl = values.redis ?? process.env.REDIS_URL;
if (!redisUrl) fail("set REDIS_URL (or --redis) to the queue's redis:// URL");
const device = values.device ?? process.env.REINDEX_DEVICE ?? DEFAULT_WORKER_OPTIONS.device;
if (device !== 'cpu' && device !== 'cuda') fail(`--device must be cpu or cuda, got ${JSON.stringify(device)}`);
const concurrency = positive('concurrency', values.concurrency ?? process.env.REINDEX_WORKER_CONCURRENCY, DEFAULT_WORKER_OPTIONS.concurrency);
// Unless the operator sized it; set before the pool's first use (the config read and Redis's
// DNS lookup below).
process.env.UV_THREADPOOL_SIZE ??= String(threadPoolSizeFor(concurrency));
const batchSize = positive('batch-size', values['batch-size'], device === 'cuda' ? WORKER_BIN_DEFAULTS.cudaBatchSize : DEFAULT_WORKER_OPTIONS.batchSize);
const intraOpRaw = values['intra-op-threads'] ?? process.env.REINDEX_INTRA_OP_THREADS;
// 0: onnxruntime's choice.
const intraOpThreads = intraOpRaw === undefined ? undefined : integerFlag('intra-op-threads', intraOpRaw, 0, 0);
const shutdownTimeoutMs = positive('shutdown-timeout-ms', values['shutdown-timeout-ms'], WORKER_BIN_DEFAULTS.shutdownTimeoutMs);
const metricsPortRaw = values['metrics-port'] ?? process.env.REINDEX_METRICS_PORT;
const metricsPort = integerFlag('metrics-port', metricsPortRaw, WORKER_BIN_DEFAULTS.metricsPort, 0, 65535);

const lockDurationMs = positive('lock-duration-ms', values['lock-duration-ms'], DEFAULT_WORKER_OPTIONS.lockDurationMs);
const stalledIntervalMs = positive('stalled-interval-ms', values['stalled-interval-ms'], DEFAULT_WORKER_OPTIONS.stalledIntervalMs);
// Endpoint, path style and credentials for S3-compatible stores come from the same config file
// the coordinator uses; build specs name the store by URL only.
const s3 = values.config ? (await loadConfig(values.config).catch((error: Error) => fail(error.message))).s3 : undefined;

const logger = createLogger('reindex-worker');
// A promise rejected with no handler must never end a worker: every job's own failure is
// already reported through BullMQ, and a fleet that dies on one poison job waits forever.
process.on('unhandledRejection', (reason) => {
  logger.error(
    { err: reason instanceof Error ? { message: reason.message, stack: reason.stack } : String(reason) },
    'unhandled rejection (the worker keeps running)',
  );
});
// Fail fast on a wrong or unreachable Redis instead of retrying forever.
await assertRedisReachable(redisUrl).catch((error: Error) => fail(error.message));
const worker = await startWorker({
  redisUrl,
  device,
  concurrency,
  batchSize,
  logger,
  lockDurationMs,
  stalledIntervalMs,
  ...(intraOpThreads !== undefined ? { intraOpThreads } : {}),
  ...(s3 ? { s3 } : {}),
});
let stopping = false;
let metrics: MetricsServer | undefined;
if (metricsPort > 0) {
  metrics = await startMetricsServer({ port: metricsPort, host: values['metrics-host'] ?? '0.0.0.0', redisUrl, healthy: () => !stopping });
}
logger.info(
  { workerId: worker.workerId, device, concurrency, redis: redactRedisUrl(redisUrl), metrics: metrics ? `${metrics.url}/metrics` : 'off' },
  'reindex-worker waiting for jobs',
);
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    // Finish the jobs in progress; past the timeout, hand them back (their locks lapse and
    // BullMQ's stalled-job check gives them to another worker).
    logger.info({ workerId: worker.workerId, signal, shutdownTimeoutMs }, 'finishing jobs in progress');
    // Past the timeout the jobs are handed back, then the process waits for faiss calls still
    // running (exiting under OpenMP teams can crash in teardown) before it exits.
    const timer = setTimeout(
      () =>
        void worker
          .close(true)
          .then(() => nativeTasksSettled())
          .finally(() => process.exit(0)),
      shutdownTimeoutMs,
    );
    void worker.close(false).finally(async () => {
      clearTimeout(timer);
      await metrics?.close();
      logger.info({ workerId: worker.workerId }, 'reindex-worker stopped');
      process.exit(0);
    });
  });
}
