import os from 'node:os';
import { BuildLock } from '@reindex/coordinator';
import { openObjectStore, type ObjectStore, type S3Options } from '@reindex/core';
import { startDashboard, type RunningDashboard } from '@reindex/dashboard';
import { BuildQueues, createLogger } from '@reindex/pipeline';
import { assertRedisReachable, startEmbeddedRedis, type EmbeddedRedis } from '@reindex/queue';
import { DEFAULT_WORKER_OPTIONS, defaultIntraOpThreads, startWorker, type RunningWorker } from '@reindex/worker';

export interface LocalClusterOptions {
  /** The Redis of the queues; absent: a private `redis-server` started for this process. */
  redisUrl?: string;
  storeUrl: string;
  s3: S3Options;
  /**
   * Take the index's build lock on a shared Redis (one build per index name at a time; a
   * private Redis sees no other coordinator): the index name, and the build a resume takes over.
   */
  lock?: { name: string; resumeBuildId?: string };
  /** Serve the dashboard on this port (0: any free port); absent: no dashboard. */
  dashboardPort?: number;
}

/**
 * What one `reindex` run holds while it coordinates a build: the queues' Redis (a private
 * `redis-server` unless a shared one is named), the object store, the index's build lock, the
 * BullMQ queues, the in-process workers and the dashboard. Each is started here and released by
 * the one `close()`, in reverse order, whatever failed in between.
 */
export class LocalCluster {
  private workers: RunningWorker[] = [];
  private closed = false;

  private constructor(
    readonly redisUrl: string,
    readonly store: ObjectStore,
    readonly queues: BuildQueues,
    private readonly redis: EmbeddedRedis | undefined,
    readonly lock: BuildLock | undefined,
    readonly dashboard: RunningDashboard | undefined,
    private readonly s3: S3Options,
  ) {}

  /** True when the queues run on this process's private Redis. */
  get embedded(): boolean {
    return this.redis !== undefined;
  }

  static async start(options: LocalClusterOptions): Promise<LocalCluster> {
    const store = openObjectStore(options.storeUrl, { s3: options.s3 });
    let redis: EmbeddedRedis | undefined;
    let lock: BuildLock | undefined;
    let queues: BuildQueues | undefined;
    try {
      if (!options.redisUrl) redis = await startEmbeddedRedis();
      const redisUrl = options.redisUrl ?? redis!.url;
      await assertRedisReachable(redisUrl);
      if (!redis && options.lock) {
        lock = await BuildLock.acquire(redisUrl, options.lock.name, options.lock.resumeBuildId ? { resumeBuildId: options.lock.resumeBuildId } : {});
      }
      queues = new BuildQueues(redisUrl);
      let dashboard: RunningDashboard | undefined;
      if (options.dashboardPort !== undefined) {
        const logger = createLogger('reindex-dashboard');
        logger.level = 'warn'; // the CLI's own output stays human-readable
        dashboard = await startDashboard({ redisUrl, storeUrl: options.storeUrl, s3: options.s3, port: options.dashboardPort, logger });
      }
      return new LocalCluster(redisUrl, store, queues, redis, lock, dashboard, options.s3);
    } catch (error) {
      await queues?.close();
      await store.close();
      await lock?.release();
      await redis?.stop();
      throw error;
    }
  }

  /**
   * Starts `count` workers in this process. They share its main thread (parsing,
   * featurization), so their onnxruntime threads split the other cores between them.
   */
  async startWorkers(count: number): Promise<void> {
    const intraOpThreads = defaultIntraOpThreads(DEFAULT_WORKER_OPTIONS.device, count, os.availableParallelism());
    for (let i = 0; i < count; i++) {
      this.workers.push(await startWorker({ redisUrl: this.redisUrl, workerId: `local-${process.pid}-${i}`, s3: this.s3, intraOpThreads }));
    }
  }

  /** Stops the workers (their running jobs are left to BullMQ), then everything else; idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all(this.workers.map((w) => w.close(true)));
    this.workers = [];
    await this.queues.close();
    await this.store.close();
    await this.lock?.release();
    await this.dashboard?.close();
    await this.redis?.stop();
  }
}
