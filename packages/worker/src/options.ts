import type { S3Options } from '@reindex/core';
import { ITEM_EMBEDDER_DEFAULTS, type ExecutionProvider } from '@reindex/item-tower';
import { DEFAULT_QUEUE_PREFIX } from '@reindex/queue';

export interface WorkerOptions {
  /** `redis://` URL of the shared queue. Required (the CLI passes its embedded server's URL). */
  redisUrl: string;
  /** Shard jobs run at once in this process. Default 1: one shard saturates the cores via faiss/onnxruntime threads. */
  concurrency: number;
  /** Execution provider for the item tower. Default `cpu`. */
  device: ExecutionProvider;
  /** Items per embedding batch. Default 256 (CPU); use 1024–4096 on CUDA. */
  batchSize: number;
  /**
   * onnxruntime intra-op threads of each item tower session. Default: see
   * `defaultIntraOpThreads`, which leaves a core to the process's main thread on CPU.
   */
  intraOpThreads?: number;
  /**
   * OpenMP threads of each faiss call (assignment, encoding, exact search, training), set
   * process-wide. Default: absent = `defaultFaissThreads` of the jobs running in the process at
   * each job's start and end (a lone train job gets every core, two shard jobs on 2 cores one
   * each). More jobs × threads than cores makes OpenMP teams spin against each other and
   * against onnxruntime.
   */
  faissThreads?: number;
  /** Local scratch directory for downloaded and built index files. Default: the OS temp dir. */
  scratchDir?: string;
  /**
   * How long a job's lock lives without renewal (BullMQ `lockDuration`; BullMQ renews it every
   * half of it). A worker that dies hard (SIGKILL, a lost node) loses its job to another once the
   * lock has lapsed and a stalled-job check has run: at most lockDurationMs + stalledIntervalMs.
   * Default 15,000 ms: safe because no job blocks its worker's event loop (faiss, onnxruntime
   * and parsing of large inputs run off it), so renewals are never late.
   */
  lockDurationMs: number;
  /**
   * How often each worker runs BullMQ's stalled-job check (`stalledInterval`). Default 10,000 ms.
   * Cost, per worker: one small Lua script per interval, plus one lock renewal per active job
   * every lockDurationMs / 2 (the README's Operations section puts it against recovery time).
   */
  stalledIntervalMs: number;
  /** BullMQ key prefix. Default `reindex`. */
  prefix: string;
  /** Worker name reported in job progress and logs. Default `<hostname>-<pid>`. */
  workerId?: string;
  /**
   * Options for every s3:// URL a job names (object store, catalogue): endpoint, path style,
   * credentials. Default: none (the AWS SDK's defaults and environment). Build specs carry no
   * S3 settings, so a worker reaching a non-AWS S3 server needs them here.
   */
  s3?: S3Options;
}

export const DEFAULT_WORKER_OPTIONS = Object.freeze({
  concurrency: 1,
  device: 'cpu',
  batchSize: ITEM_EMBEDDER_DEFAULTS.batchSize,
  lockDurationMs: 15_000,
  stalledIntervalMs: 10_000,
  prefix: DEFAULT_QUEUE_PREFIX,
} satisfies Omit<WorkerOptions, 'redisUrl'>);

/** Defaults of the `reindex-worker` binary's own flags (the process around startWorker). */
export const WORKER_BIN_DEFAULTS = Object.freeze({
  /** Items per onnxruntime batch on CUDA, where larger batches keep the GPU busy. */
  cudaBatchSize: 2048,
  /** How long SIGTERM waits for running jobs before the process exits (their locks then expire). */
  shutdownTimeoutMs: 240_000,
  /** Prometheus port; 0 turns the metrics server off. */
  metricsPort: 9464,
});

/**
 * Default onnxruntime intra-op threads per embedding session: on CPU, the cores left after one
 * for the main thread (catalogue parsing and featurization of every session, BullMQ), shared
 * among the sessions that run at once, at least 1; on CUDA 0 (onnxruntime's choice: its CPU
 * threads only feed the GPU).
 * Why leave a core: featurization overlaps inference only while it has a core of its own; the
 * measurements behind this choice (bench:embed, bench:e2e) are in docs/benchmarks.md. On larger
 * machines the main thread is the ceiling, so it should not share its core with onnxruntime.
 */
export function defaultIntraOpThreads(device: ExecutionProvider, sessionsAtOnce: number, cores: number): number {
  if (device === 'cuda') return 0;
  return Math.max(1, Math.floor((cores - 1) / Math.max(1, sessionsAtOnce)));
}

/**
 * Default faiss threads per call: the cores split between the jobs one process runs at once
 * (over all its in-process workers): oversubscribed BLAS threads cost wall and CPU time
 * (docs/benchmarks.md, bench:scale notes).
 */
export function defaultFaissThreads(jobsAtOnce: number, cores: number): number {
  return Math.max(1, Math.floor(cores / Math.max(1, jobsAtOnce)));
}

/**
 * libuv threads a process running `jobsAtOnce` jobs needs: every faiss call (add, exact truth
 * search, write) holds one for its whole duration, so two per job, plus two for file and DNS
 * I/O (libuv's default of 4 would leave none with two shard jobs adding and searching).
 */
export function threadPoolSizeFor(jobsAtOnce: number): number {
  return Math.max(4, 2 * jobsAtOnce + 2);
}
