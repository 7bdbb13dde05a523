import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Queue, Job, Worker } from 'bullmq';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { DEFAULT_QUEUE_PREFIX, ReindexKeys, STAGES, redisOptionsFromUrl, type StageName } from '@reindex/queue';
import type { MergeResult, TrainResult, ShardStats } from '@reindex/pipeline';

// Prometheus metrics of the worker processes. Counters come from BullMQ job events (progress,
// completed, failed) and the jobs' results (ShardStats, MergeResult, TrainResult): the
// processors themselves know nothing about metrics.

const DURATION_BUCKETS_S = [0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600];

/** The job metrics of this process (every worker started in it), on one registry. */
export class WorkerMetrics {
  readonly registry = new Registry();
  readonly itemsFeaturized = new Counter({
    name: 'reindex_items_featurized_total',
    help: 'Catalogue rows featurized by shard jobs (embedded + rejected)',
    labelNames: ['worker'],
    registers: [this.registry],
  });
  readonly itemsEmbedded = new Counter({
    name: 'reindex_items_embedded_total',
    help: 'Items embedded by the item tower in shard jobs',
    labelNames: ['worker'],
    registers: [this.registry],
  });
  readonly itemsRejected = new Counter({
    name: 'reindex_items_rejected_total',
    help: 'Catalogue rows rejected (malformed, unusable fields, id collisions)',
    labelNames: ['worker'],
    registers: [this.registry],
  });
  readonly vectorsAdded = new Counter({
    name: 'reindex_vectors_added_total',
    help: 'Vectors added to shard sub-indexes (counted when the shard completes)',
    labelNames: ['worker'],
    registers: [this.registry],
  });
  readonly bytesUploaded = new Counter({
    name: 'reindex_bytes_uploaded_total',
    help: 'Index bytes uploaded to the object store, by stage',
    labelNames: ['worker', 'stage'],
    registers: [this.registry],
  });
  readonly jobDuration = new Histogram({
    name: 'reindex_job_duration_seconds',
    help: 'Wall time of one job attempt, by stage and outcome',
    labelNames: ['stage', 'outcome'],
    buckets: DURATION_BUCKETS_S,
    registers: [this.registry],
  });
  readonly stageDuration = new Histogram({
    name: 'reindex_stage_duration_seconds',
    help: 'Time spent in a pipeline step as the job results report it (train, embed, add, merge)',
    labelNames: ['step'],
    buckets: DURATION_BUCKETS_S,
    registers: [this.registry],
  });
  readonly jobsCompleted = new Counter({
    name: 'reindex_jobs_completed_total',
    help: 'Jobs completed by doing their work, by stage (reused shards are in reindex_shards_reused_total)',
    labelNames: ['stage'],
    registers: [this.registry],
  });
  readonly shardsReused = new Counter({
    name: 'reindex_shards_reused_total',
    help: 'Shard jobs that found their shard finished by an earlier run (resume, retry) and reused it',
    registers: [this.registry],
  });
  readonly attemptsFailed = new Counter({
    name: 'reindex_job_attempts_failed_total',
    help: 'Failed job attempts (each retry that follows counts in reindex_job_retries_total)',
    labelNames: ['stage'],
    registers: [this.registry],
  });
  readonly retries = new Counter({
    name: 'reindex_job_retries_total',
    help: 'Failed attempts that BullMQ will retry',
    labelNames: ['stage'],
    registers: [this.registry],
  });
  readonly jobsFailed = new Counter({
    name: 'reindex_jobs_failed_total',
    help: 'Jobs failed for good (attempts exhausted or unrecoverable), by stage',
    labelNames: ['stage'],
    registers: [this.registry],
  });
  readonly activeJobs = new Gauge({
    name: 'reindex_worker_active_jobs',
    help: 'Jobs in progress, by worker and stage',
    labelNames: ['worker', 'stage'],
    registers: [this.registry],
  });
  readonly slots = new Gauge({
    name: 'reindex_worker_slots',
    help: 'Shard jobs a worker runs at once (its concurrency)',
    labelNames: ['worker'],
    registers: [this.registry],
  });
  readonly busySeconds = new Counter({
    name: 'reindex_worker_busy_seconds_total',
    help: 'Seconds spent running jobs (finished attempts); rate(...)/reindex_worker_slots is utilisation',
    labelNames: ['worker'],
    registers: [this.registry],
  });
  readonly utilisation = new Gauge({
    name: 'reindex_worker_utilisation',
    help: 'Fraction of shard slots busy now',
    labelNames: ['worker'],
    registers: [this.registry],
  });
}

let shared: WorkerMetrics | undefined;

/** The process-wide worker metrics (created on first use). */
export function workerMetrics(): WorkerMetrics {
  shared ??= new WorkerMetrics();
  return shared;
}

/** Whether any worker in this process registered metrics (the dashboard merges them in then). */
export function hasWorkerMetrics(): boolean {
  return shared !== undefined;
}

/** Live numbers of one worker, for its heartbeat. */
export class WorkerActivity {
  readonly active = new Map<string, StageName>();
  itemsTotal = 0;
  jobsCompleted = 0;
  jobsFailed = 0;
  readonly #samples: Array<[number, number]> = [];

  addItems(n: number): void {
    if (n <= 0) return;
    this.itemsTotal += n;
    const now = Date.now();
    this.#samples.push([now, this.itemsTotal]);
    while (this.#samples.length > 2 && (this.#samples[0]?.[0] ?? now) < now - 30_000) this.#samples.shift();
  }

  /** Items per second over the last ~30 s (0 when idle for that long). */
  itemsPerSecond(now = Date.now()): number {
    const recent = this.#samples.filter(([t]) => t >= now - 30_000);
    const first = recent[0];
    const last = recent.at(-1);
    if (!first || !last || last === first) return 0;
    const before = this.#samples[this.#samples.indexOf(first) - 1];
    const base = before ?? first;
    const seconds = Math.max(1, (now - base[0]) / 1000);
    return (last[1] - base[1]) / seconds;
  }

  snapshot() {
    return {
      activeJobs: [...this.active.keys()],
      itemsTotal: this.itemsTotal,
      itemsPerSecond: Math.round(this.itemsPerSecond()),
      jobsCompleted: this.jobsCompleted,
      jobsFailed: this.jobsFailed,
    };
  }
}

interface ShardProgress {
  items?: number;
  rejected?: number;
}

/**
 * Counts one worker's jobs into the process's metrics; returns its live activity and a
 * function that detaches the listeners.
 */
export function instrumentWorker(workerId: string, workers: Record<StageName, Worker>, concurrency: number): { activity: WorkerActivity; detach(): void } {
  const m = workerMetrics();
  const activity = new WorkerActivity();
  const seen = new Map<string, { items: number; rejected: number; startedAt: number }>();
  m.slots.set({ worker: workerId }, concurrency);
  const refreshUtilisation = () => {
    const shards = [...activity.active.values()].filter((s) => s === 'shard').length;
    m.utilisation.set({ worker: workerId }, Math.min(1, shards / concurrency));
  };
  const countItems = (job: Job, items: number, rejected: number) => {
    const key = job.id ?? '';
    const last = seen.get(key) ?? { items: 0, rejected: 0, startedAt: Date.now() };
    const dItems = Math.max(0, items - last.items);
    const dRejected = Math.max(0, rejected - last.rejected);
    m.itemsEmbedded.inc({ worker: workerId }, dItems);
    m.itemsRejected.inc({ worker: workerId }, dRejected);
    m.itemsFeaturized.inc({ worker: workerId }, dItems + dRejected);
    activity.addItems(dItems);
    seen.set(key, { ...last, items: Math.max(items, last.items), rejected: Math.max(rejected, last.rejected) });
  };
  const finish = (stage: StageName, job: Job, outcome: 'completed' | 'failed') => {
    const started = seen.get(job.id ?? '')?.startedAt ?? job.processedOn ?? Date.now();
    const seconds = Math.max(0, (Date.now() - started) / 1000);
    m.jobDuration.observe({ stage, outcome }, seconds);
    m.busySeconds.inc({ worker: workerId }, seconds);
    activity.active.delete(job.id ?? '');
    m.activeJobs.set({ worker: workerId, stage }, [...activity.active.values()].filter((s) => s === stage).length);
    seen.delete(job.id ?? '');
    refreshUtilisation();
  };
  const detachers: Array<() => void> = [];
  for (const stage of STAGES) {
    const worker = workers[stage];
    const onActive = (job: Job) => {
      activity.active.set(job.id ?? '', stage);
      seen.set(job.id ?? '', { items: 0, rejected: 0, startedAt: Date.now() });
      m.activeJobs.set({ worker: workerId, stage }, [...activity.active.values()].filter((s) => s === stage).length);
      refreshUtilisation();
    };
    const onProgress = (job: Job, progress: unknown) => {
      if (stage !== 'shard' || typeof progress !== 'object' || progress === null) return;
      const p = progress as ShardProgress;
      countItems(job, p.items ?? 0, p.rejected ?? 0);
    };
    const onCompleted = (job: Job, result: unknown) => {
      // A shard reused from an earlier run did its work then: counting it again would double it.
      if (stage === 'shard' && (result as ShardStats | null)?.reused) {
        m.shardsReused.inc();
        return;
      }
      m.jobsCompleted.inc({ stage });
      activity.jobsCompleted++;
      if (stage === 'shard' && result) {
        const s = result as ShardStats;
        countItems(job, s.items, s.rejected);
        m.vectorsAdded.inc({ worker: workerId }, s.items);
        m.bytesUploaded.inc({ worker: workerId, stage }, s.index.bytes + (s.idMap?.bytes ?? 0));
        m.stageDuration.observe({ step: 'embed' }, s.embedMs / 1000);
        m.stageDuration.observe({ step: 'add' }, s.addMs / 1000);
      } else if (stage === 'merge' && result) {
        const r = result as MergeResult;
        m.bytesUploaded.inc(
          { worker: workerId, stage },
          r.files.reduce((sum, f) => sum + f.bytes, 0),
        );
        m.stageDuration.observe({ step: 'merge' }, r.mergeMs / 1000);
      } else if (stage === 'train' && result) {
        const r = result as TrainResult;
        m.bytesUploaded.inc({ worker: workerId, stage }, r.trainedIndexBytes);
        if (r.trainedOn > 0) m.stageDuration.observe({ step: 'train' }, r.trainMs / 1000);
      }
      finish(stage, job, 'completed');
    };
    const onFailed = (job: Job | undefined, error: Error) => {
      if (!job) return;
      m.attemptsFailed.inc({ stage });
      const attempts = job.opts.attempts ?? 1;
      // BullMQ has already counted this attempt in attemptsMade when 'failed' is emitted; an
      // UnrecoverableError fails the job for good whatever attempts are left.
      if (job.attemptsMade < attempts && error?.name !== 'UnrecoverableError') m.retries.inc({ stage });
      else {
        m.jobsFailed.inc({ stage });
        activity.jobsFailed++;
      }
      finish(stage, job, 'failed');
    };
    worker.on('active', onActive);
    worker.on('progress', onProgress);
    worker.on('completed', onCompleted);
    worker.on('failed', onFailed);
    detachers.push(() => {
      worker.off('active', onActive);
      worker.off('progress', onProgress);
      worker.off('completed', onCompleted);
      worker.off('failed', onFailed);
    });
  }
  return {
    activity,
    detach: () =>
      detachers.forEach((d) => {
        d();
      }),
  };
}

/** `reindex_queue_jobs{queue,state}`: job counts of every stage queue, read at each scrape. */
export function registerQueueDepthGauge(registry: Registry, queues: Record<StageName, Queue>): Gauge {
  return new Gauge({
    name: 'reindex_queue_jobs',
    help: 'Jobs in each pipeline queue, by state',
    labelNames: ['queue', 'state'],
    registers: [registry],
    async collect() {
      const states = ['waiting', 'active', 'delayed', 'prioritized', 'waiting-children', 'completed', 'failed'] as const;
      await Promise.all(
        STAGES.map(async (stage) => {
          const counts = await queues[stage].getJobCounts(...states);
          for (const state of states) this.set({ queue: queues[stage].name, state }, counts[state] ?? 0);
        }),
      );
    },
  });
}

export interface MetricsServerOptions {
  /** TCP port; 0 picks a free one (the CLI flag's 0 means "off" and never gets here). */
  port: number;
  /** Default `0.0.0.0`: Prometheus and the kubelet's probes reach the pod's address. */
  host?: string;
  /** Adds queue depths read from this Redis (omit to leave them to the dashboard). */
  redisUrl?: string;
  prefix?: string;
  /** `/healthz` answers 200 while this returns true, 503 otherwise (e.g. shutting down). */
  healthy?: () => boolean;
}

export interface MetricsServer {
  readonly url: string;
  close(): Promise<void>;
}

/** Serves `/metrics` (this process's worker metrics + Node process metrics) and `/healthz`. */
export async function startMetricsServer(options: MetricsServerOptions): Promise<MetricsServer> {
  const own = new Registry();
  collectDefaultMetrics({ register: own });
  let queues: Record<StageName, Queue> | undefined;
  if (options.redisUrl) {
    const connection = redisOptionsFromUrl(options.redisUrl);
    queues = new ReindexKeys(options.prefix ?? DEFAULT_QUEUE_PREFIX).openStageQueues(connection);
    registerQueueDepthGauge(own, queues);
  }
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET' }).end();
    } else if (path === '/healthz') {
      const ok = options.healthy?.() ?? true;
      res.writeHead(ok ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify({ ok }));
    } else if (path === '/metrics') {
      const registry = Registry.merge([own, workerMetrics().registry]);
      registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
        (error: Error) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics failed: ${error.message}\n`),
      );
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '0.0.0.0', () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}`,
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      if (queues) await Promise.all(Object.values(queues).map((q) => q.close()));
    },
  };
}
