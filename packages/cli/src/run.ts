import os from 'node:os';
import path from 'node:path';
import {
  BuildFailedError,
  BuildLock,
  EMBEDDED_DEFAULTS,
  ensureReferenceModel,
  ensureSampleCatalogue,
  prepareBuild,
  resumeBuild,
  submitBuild,
  waitForBuild,
} from '@reindex/coordinator';
import { loadConfig, openObjectStore, type IndexParams, type ReindexConfigInput } from '@reindex/core';
import { assertRedisReachable, redactRedisUrl, startEmbeddedRedis, type EmbeddedRedis } from '@reindex/queue';
import { startDashboard, type RunningDashboard } from '@reindex/dashboard';
import { BuildQueues, createLogger, readBuildSpec, type PublishResult } from '@reindex/pipeline';
import { DEFAULT_WORKER_OPTIONS, defaultIntraOpThreads, startWorker, type RunningWorker } from '@reindex/worker';
import type { RunArgs } from './args.js';
import { ProgressDisplay } from './progress.js';

export interface RunSummary {
  buildId: string;
  version: string;
  manifestUrl: string;
  items: number;
  rejected: number;
  /** Rejected rows by reason; examples with locations are in `builds/<buildId>/shards/<n>.json`. */
  rejectedByReason?: Record<string, number>;
  shards: number;
  /** Wall time of this run (this process: plan or resume, then wait). */
  seconds: number;
  /**
   * Wall time of the whole build, from its plan to its publish. The same as `seconds` for a
   * build planned by this run; after `--resume` it also spans the earlier run(s) and the pause
   * between, so the stage times (the build's, from its jobs) always add up to no more than it.
   */
  buildSeconds: number;
  /** Set when this run resumed a build planned earlier (`--resume`). */
  resumed: boolean;
  /** Items indexed per second of the build's wall time (`items / buildSeconds`). */
  itemsPerSecond: number;
  /** Duration of each stage of the build in seconds (plan only when this run planned it). */
  stageSeconds: Record<string, number>;
  /** nprobe the quality stage chose (the manifest's). */
  nprobe: number;
  /** recall@10 at that nprobe (fraction of queries whose exact nearest neighbour is in the top 10); absent when not measured. */
  recallAt10?: number;
  /** Published with --force although the quality gate failed. */
  forced: boolean;
}

function storeUrlOf(url: string): string {
  return /^[a-z0-9]+:\/\//i.test(url) ? url : `file://${path.resolve(url)}`;
}

/** `reindex [run]`: plan, submit, work (in-process workers) and wait; returns the summary. */
export async function runBuild(args: RunArgs, display = new ProgressDisplay()): Promise<RunSummary> {
  const started = Date.now();
  const overrides: ReindexConfigInput = {
    ...(args.shardCount !== undefined ? { shardCount: args.shardCount } : {}),
    ...(args.catalogue ? { catalogue: { url: args.catalogue } } : {}),
    ...(args.model ? { modelDir: args.model } : {}),
    ...(args.store ? { store: { url: args.store } } : {}),
    ...(args.redis ? { redisUrl: args.redis } : {}),
    ...(args.indexFactory ? { index: { factory: args.indexFactory } } : {}),
    ...(args.name ? { name: args.name } : {}),
    ...(args.workers !== undefined ? { workers: args.workers } : {}),
  };
  const config = await loadConfig(args.config, overrides);
  const storeUrl = storeUrlOf(args.store ?? (config.store.url === 'var/store' ? EMBEDDED_DEFAULTS.storeUrl : config.store.url));
  const catalogueUrl = config.catalogue.url ?? (await ensureSampleCatalogue((l) => display.log(l)));
  // --workers, else the config's workers, else one per core.
  const workerCount = config.workers ?? os.availableParallelism();
  // A catalogue of its own vectors needs no model (its dim comes from the data) unless one is given.
  const modelDir = config.modelDir ?? (config.catalogue.fields.embedding !== undefined ? undefined : await ensureReferenceModel((l) => display.log(l)));

  let redis: EmbeddedRedis | undefined;
  let workers: RunningWorker[] = [];
  let queues: BuildQueues | undefined;
  let lock: BuildLock | undefined;
  let dashboard: RunningDashboard | undefined;
  const store = openObjectStore(storeUrl, { s3: config.s3 });
  const cleanup = async () => {
    await Promise.all(workers.map((w) => w.close(true)));
    workers = [];
    await queues?.close();
    await store.close();
    await lock?.release();
    await dashboard?.close();
    await redis?.stop();
  };
  const onSignal = (signal: NodeJS.Signals) => {
    display.log(`reindex: ${signal}: stopping workers and the embedded Redis`);
    void cleanup().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    let buildId: string;
    let shardCount: number;
    let version: string;
    let planMs = 0;
    // When the build began: this run's start, or the plan's time for a resumed build.
    let buildStarted = started;
    if (args.resume) {
      if (!config.redisUrl) throw new BuildFailedError(args.resume, 'resume', "--resume needs --redis: the build's jobs live in the Redis it ran on");
    }
    if (!config.redisUrl) redis = await startEmbeddedRedis();
    const redisUrl = config.redisUrl ?? redis!.url;
    await assertRedisReachable(redisUrl);
    display.log(`reindex: queue ${redactRedisUrl(redisUrl)}${redis ? ' (embedded)' : ''}, store ${storeUrl}`);
    // On a shared Redis, one build per index name at a time (nightly cron, engineers, the
    // scheduler); a private Redis sees no other coordinator.
    if (!redis && !args.dryRun) lock = await BuildLock.acquire(redisUrl, config.name, args.resume ? { resumeBuildId: args.resume } : {});
    queues = new BuildQueues(redisUrl);
    if (args.dashboardPort !== undefined) {
      const logger = createLogger('reindex-dashboard');
      logger.level = 'warn'; // the CLI's own output stays human-readable
      dashboard = await startDashboard({ redisUrl, storeUrl, s3: config.s3, port: args.dashboardPort, logger });
      display.log(`reindex: dashboard ${dashboard.url}/`);
    }

    if (args.resume) {
      buildId = args.resume;
      ({ shardCount } = await resumeBuild(queues, store, buildId));
      const spec = await readBuildSpec(store, buildId);
      version = spec.version;
      buildStarted = Math.min(started, Date.parse(spec.createdAt) || started);
      display.log(`reindex: resuming build ${buildId} (${shardCount} shards)`);
    } else {
      const prepared = await prepareBuild({
        ...config,
        catalogue: { ...config.catalogue, url: catalogueUrl },
        ...(modelDir !== undefined ? { modelDir } : {}),
        store: { url: storeUrl },
        force: args.force === true,
      });
      ({ buildId, version } = prepared.spec);
      await lock?.recordBuild(buildId);
      shardCount = prepared.plan.shardCount;
      planMs = prepared.planMs;
      const rows = prepared.plan.shards.map((s) => s.estimatedRows);
      display.log(
        `reindex: build ${buildId}: ${prepared.plan.totals.estimatedRows.toLocaleString('en')} items${prepared.plan.totals.rowsExact ? '' : ' (estimated)'} in ${shardCount} shards (${Math.min(...rows)}–${Math.max(...rows)} rows each), index ${prepared.spec.index.factory} ${prepared.spec.index.metric}, nprobe ${prepared.spec.quality?.fixedNprobe ?? 'chosen by the quality stage'}`,
      );
      const skipped = prepared.plan.skipped ?? [];
      if (skipped.length > 0) {
        const shown = skipped
          .slice(0, 10)
          .map((f) => `${f.file} (${f.reason})`)
          .join('; ');
        display.log(
          `reindex: skipped ${skipped.length} file(s) that are not catalogue data: ${shown}${skipped.length > 10 ? `; ... (${skipped.length - 10} more in builds/${buildId}/plan.json)` : ''}`,
        );
      }
      display.log(
        `reindex: item ids are ${prepared.spec.catalogue.idKind === 'string' ? 'strings (hashed, published in idmap.jsonl)' : 'integers'}, from ${prepared.spec.catalogue.idKindSource}; duplicates: ${prepared.spec.catalogue.duplicateIds}`,
      );
      if (args.dryRun) {
        const plan = {
          buildId,
          dryRun: true,
          shards: prepared.plan.shards.map((s) => ({ shard: s.index, rows: s.estimatedRows, bytes: s.estimatedBytes })),
          index: prepared.spec.index,
          catalogue: catalogueUrl,
          items: prepared.plan.totals.estimatedRows,
          skipped,
          ids: { kind: prepared.spec.catalogue.idKind, source: prepared.spec.catalogue.idKindSource, duplicates: prepared.spec.catalogue.duplicateIds },
        };
        if (args.json) process.stdout.write(`${JSON.stringify(plan)}\n`);
        else {
          for (const s of plan.shards) process.stdout.write(`shard ${s.shard}: ${s.rows} rows, ${s.bytes} bytes\n`);
          for (const line of describeIndexSizes(prepared.spec.index)) process.stdout.write(`${line}\n`);
        }
        return {
          buildId,
          version,
          manifestUrl: '',
          items: 0,
          rejected: 0,
          shards: shardCount,
          seconds: (Date.now() - started) / 1000,
          buildSeconds: (Date.now() - started) / 1000,
          resumed: false,
          itemsPerSecond: 0,
          stageSeconds: { plan: planMs / 1000 },
          nprobe: prepared.spec.index.nprobe,
          forced: false,
        };
      }
      await submitBuild(queues, store, prepared);
    }
    for (let i = 0; i < workerCount; i++) {
      // The in-process workers share this process's main thread (parsing, featurization), so
      // their onnxruntime threads split the other cores between them.
      const intraOpThreads = defaultIntraOpThreads(DEFAULT_WORKER_OPTIONS.device, workerCount, os.availableParallelism());
      workers.push(await startWorker({ redisUrl, workerId: `local-${process.pid}-${i}`, s3: config.s3, intraOpThreads }));
    }
    if (workerCount === 0) display.log('reindex: no in-process workers (workers 0): waiting for remote workers (reindex-worker) to take the jobs');
    const result: PublishResult = await waitForBuild(queues, buildId, shardCount, (p) => display.update(p), undefined, {
      store,
      onResumed: (message) => display.log(`reindex: ${message}`),
    });
    display.clear();
    const finished = Date.now();
    const seconds = (finished - started) / 1000;
    const stageSeconds: Record<string, number> = args.resume ? {} : { plan: planMs / 1000 };
    for (const [stage, ms] of Object.entries(result.stageTimings)) stageSeconds[stage] = ms / 1000;
    return {
      buildId,
      version: result.version,
      manifestUrl: `${storeUrl.replace(/\/$/, '')}/${result.manifestKey}`,
      items: result.items,
      rejected: result.rejected,
      ...(result.rejectedByReason ? { rejectedByReason: result.rejectedByReason } : {}),
      shards: shardCount,
      seconds,
      buildSeconds: (finished - buildStarted) / 1000,
      resumed: args.resume !== undefined,
      itemsPerSecond: result.items / ((finished - buildStarted) / 1000),
      stageSeconds,
      nprobe: result.nprobe,
      ...(result.recallAt10 !== undefined ? { recallAt10: result.recallAt10 } : {}),
      forced: result.forced,
    };
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await cleanup();
  }
}

/** The dry run's account of both budgets: what serving will hold, what the builders will. */
export function describeIndexSizes(index: IndexParams & { servingMemoryBytes: number; builderMemoryBytes: number }): string[] {
  const gb = (bytes: number) => `${(bytes / 1e9).toFixed(2)} GB`;
  const merge = index.estimatedIndexBytes <= index.builderMemoryBytes ? 'in memory' : 'on disk (one data file, flat memory)';
  return [
    `serving size: ${gb(index.estimatedIndexBytes)} (${index.bytesPerVector} bytes per vector; index.servingMemoryBytes ${gb(index.servingMemoryBytes)})`,
    `builder memory: train ${gb(index.estimatedTrainBytes)} for a ${index.trainSampleSize.toLocaleString('en')}-vector sample (${index.coarseTraining} k-means), merge ${merge} of ${gb(index.estimatedIndexBytes)} (index.builderMemoryBytes ${gb(index.builderMemoryBytes)})`,
    ...index.rationale.map((r) => `  - ${r}`),
  ];
}
