import os from 'node:os';
import path from 'node:path';
import {
  BuildFailedError,
  EMBEDDED_DEFAULTS,
  ensureReferenceModel,
  ensureSampleCatalogue,
  prepareBuild,
  type PreparedBuild,
  resumeBuild,
  submitBuild,
  waitForBuild,
} from '@reindex/coordinator';
import { loadConfig, type IndexParams, type ReindexConfigInput } from '@reindex/core';
import { redactRedisUrl } from '@reindex/queue';
import { readBuildSpec, type PublishResult } from '@reindex/pipeline';
import type { RunArgs } from './args.js';
import { LocalCluster } from './local-cluster.js';
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

/** `reindex [run]`: plan (or resume), submit, work (in-process workers) and wait; returns the summary. */
export async function runBuild(args: RunArgs, display = new ProgressDisplay()): Promise<RunSummary> {
  const started = Date.now();
  const { config, storeUrl, catalogueUrl, workerCount, modelDir } = await resolveRun(args, display);
  let cluster: LocalCluster | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    display.log(`reindex: ${signal}: stopping workers and the embedded Redis`);
    void (cluster?.close() ?? Promise.resolve()).finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    cluster = await LocalCluster.start({
      ...(config.redisUrl ? { redisUrl: config.redisUrl } : {}),
      storeUrl,
      s3: config.s3,
      ...(args.dryRun ? {} : { lock: { name: config.name, ...(args.resume ? { resumeBuildId: args.resume } : {}) } }),
      ...(args.dashboardPort !== undefined ? { dashboardPort: args.dashboardPort } : {}),
    });
    display.log(`reindex: queue ${redactRedisUrl(cluster.redisUrl)}${cluster.embedded ? ' (embedded)' : ''}, store ${storeUrl}`);
    if (cluster.dashboard) display.log(`reindex: dashboard ${cluster.dashboard.url}/`);

    let build: RunBuildRef;
    if (args.resume) {
      const { shardCount } = await resumeBuild(cluster.queues, cluster.store, args.resume);
      const spec = await readBuildSpec(cluster.store, args.resume);
      // The build began when it was planned: its stage times span every run of it.
      build = { buildId: args.resume, shardCount, planMs: 0, startedAt: Math.min(started, Date.parse(spec.createdAt) || started) };
      display.log(`reindex: resuming build ${args.resume} (${shardCount} shards)`);
    } else {
      const prepared = await prepareBuild({
        ...config,
        catalogue: { ...config.catalogue, url: catalogueUrl },
        ...(modelDir !== undefined ? { modelDir } : {}),
        store: { url: storeUrl },
        force: args.force === true,
      });
      await cluster.lock?.recordBuild(prepared.spec.buildId);
      describePlan(prepared, display);
      if (args.dryRun) return dryRunSummary(prepared, catalogueUrl, args.json === true, started);
      await submitBuild(cluster.queues, cluster.store, prepared);
      build = { buildId: prepared.spec.buildId, shardCount: prepared.plan.shardCount, planMs: prepared.planMs, startedAt: started };
    }
    await cluster.startWorkers(workerCount);
    if (workerCount === 0) display.log('reindex: no in-process workers (workers 0): waiting for remote workers (reindex-worker) to take the jobs');
    const result: PublishResult = await waitForBuild(cluster.queues, build.buildId, build.shardCount, (p) => display.update(p), undefined, {
      store: cluster.store,
      onResumed: (message) => display.log(`reindex: ${message}`),
    });
    display.clear();
    return publishedSummary(result, build, storeUrl, started, args.resume !== undefined);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await cluster?.close();
  }
}

/** The run's settings: the config file and flags, the store, the catalogue and model (bundled ones when none is named). */
async function resolveRun(args: RunArgs, display: ProgressDisplay) {
  const overrides: ReindexConfigInput = {
    ...(args.shardCount !== undefined ? { shardCount: args.shardCount } : {}),
    ...(args.catalogue ? { catalogue: { url: args.catalogue } } : {}),
    ...(args.model ? { modelDir: args.model } : {}),
    ...(args.store ? { store: { url: args.store } } : {}),
    ...(args.redis ? { redisUrl: args.redis } : {}),
    ...(args.indexFactory ? { index: { factory: args.indexFactory } } : {}),
    ...(args.name ? { name: args.name } : {}),
    ...(args.workers !== undefined ? { workers: args.workers } : {}),
    ...(args.incremental !== undefined ? { incremental: args.incremental } : {}),
  };
  const config = await loadConfig(args.config, overrides);
  if (args.resume && !config.redisUrl)
    throw new BuildFailedError(args.resume, 'resume', "--resume needs --redis: the build's jobs live in the Redis it ran on");
  const storeUrl = storeUrlOf(args.store ?? (config.store.url === 'var/store' ? EMBEDDED_DEFAULTS.storeUrl : config.store.url));
  const catalogueUrl = config.catalogue.url ?? (await ensureSampleCatalogue((l) => display.log(l)));
  // --workers, else the config's workers, else one per core.
  const workerCount = config.workers ?? os.availableParallelism();
  // A catalogue of its own vectors needs no model (its dim comes from the data) unless one is given.
  const modelDir = config.modelDir ?? (config.catalogue.fields.embedding !== undefined ? undefined : await ensureReferenceModel((l) => display.log(l)));
  return { config, storeUrl, catalogueUrl, workerCount, modelDir };
}

/** A build this run saw published, with its build-wide and this-run times. */
interface RunBuildRef {
  buildId: string;
  shardCount: number;
  planMs: number;
  /** When the build began: this run's start, or the plan's time for a resumed build. */
  startedAt: number;
}

function publishedSummary(result: PublishResult, build: RunBuildRef, storeUrl: string, started: number, resumed: boolean): RunSummary {
  const finished = Date.now();
  const stageSeconds: Record<string, number> = resumed ? {} : { plan: build.planMs / 1000 };
  for (const [stage, ms] of Object.entries(result.stageTimings)) stageSeconds[stage] = ms / 1000;
  const buildSeconds = (finished - build.startedAt) / 1000;
  return {
    buildId: build.buildId,
    version: result.version,
    manifestUrl: `${storeUrl.replace(/\/$/, '')}/${result.manifestKey}`,
    items: result.items,
    rejected: result.rejected,
    ...(result.rejectedByReason ? { rejectedByReason: result.rejectedByReason } : {}),
    shards: build.shardCount,
    seconds: (finished - started) / 1000,
    buildSeconds,
    resumed,
    itemsPerSecond: result.items / buildSeconds,
    stageSeconds,
    nprobe: result.nprobe,
    ...(result.recallAt10 !== undefined ? { recallAt10: result.recallAt10 } : {}),
    forced: result.forced,
  };
}

/** The plan's account on stderr: items and shards, skipped files, the id regime. */
function describePlan(prepared: PreparedBuild, display: ProgressDisplay): void {
  const { spec, plan } = prepared;
  const rows = plan.shards.map((s) => s.estimatedRows);
  display.log(
    `reindex: build ${spec.buildId}: ${plan.totals.estimatedRows.toLocaleString('en')} items${plan.totals.rowsExact ? '' : ' (estimated)'} in ${plan.shardCount} shards (${Math.min(...rows)}–${Math.max(...rows)} rows each), index ${spec.index.factory} ${spec.index.metric}, nprobe ${spec.quality?.fixedNprobe ?? 'chosen by the quality stage'}`,
  );
  const skipped = plan.skipped ?? [];
  if (skipped.length > 0) {
    const shown = skipped
      .slice(0, 10)
      .map((f) => `${f.file} (${f.reason})`)
      .join('; ');
    display.log(
      `reindex: skipped ${skipped.length} file(s) that are not catalogue data: ${shown}${skipped.length > 10 ? `; ... (${skipped.length - 10} more in builds/${spec.buildId}/plan.json)` : ''}`,
    );
  }
  if (spec.incremental) {
    display.log(
      `reindex: incremental build from version ${spec.incremental.version} (${spec.incremental.ntotal.toLocaleString('en')} items): only new and changed items are embedded`,
    );
  } else if (spec.fullBuildReason) {
    display.log(`reindex: full build (incremental not possible: ${spec.fullBuildReason})`);
  }
  display.log(
    `reindex: item ids are ${spec.catalogue.idKind === 'string' ? 'strings (hashed, published in idmap.jsonl)' : 'integers'}, from ${spec.catalogue.idKindSource}; duplicates: ${spec.catalogue.duplicateIds}`,
  );
}

/** `--dry-run`: prints the plan (JSON with --json) and returns a summary of a build that did not run. */
function dryRunSummary(prepared: PreparedBuild, catalogueUrl: string, json: boolean, started: number): RunSummary {
  const { spec, plan } = prepared;
  const skipped = plan.skipped ?? [];
  const printed = {
    buildId: spec.buildId,
    dryRun: true,
    shards: plan.shards.map((s) => ({ shard: s.index, rows: s.estimatedRows, bytes: s.estimatedBytes })),
    index: spec.index,
    catalogue: catalogueUrl,
    items: plan.totals.estimatedRows,
    skipped,
    ids: { kind: spec.catalogue.idKind, source: spec.catalogue.idKindSource, duplicates: spec.catalogue.duplicateIds },
  };
  if (json) process.stdout.write(`${JSON.stringify(printed)}\n`);
  else {
    for (const s of printed.shards) process.stdout.write(`shard ${s.shard}: ${s.rows} rows, ${s.bytes} bytes\n`);
    for (const line of describeIndexSizes(spec.index)) process.stdout.write(`${line}\n`);
  }
  const seconds = (Date.now() - started) / 1000;
  return {
    buildId: spec.buildId,
    version: spec.version,
    manifestUrl: '',
    items: 0,
    rejected: 0,
    shards: plan.shardCount,
    seconds,
    buildSeconds: seconds,
    resumed: false,
    itemsPerSecond: 0,
    stageSeconds: { plan: prepared.planMs / 1000 },
    nprobe: spec.index.nprobe,
    forced: false,
  };
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
