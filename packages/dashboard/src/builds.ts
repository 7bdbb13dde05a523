import type { Job, Queue } from 'bullmq';
import { ObjectStorePool, attemptsPhrase, type ObjectStore, type S3Options, type ShardPlan } from '@reindex/core';
import { STAGES, jobIdFor, type StageName } from '@reindex/queue';
import { type BuildSpec, type MergeResult, type PublishResult, type ShardStats, readBuildSpec, readPlan } from '@reindex/pipeline';
import { redactUrl } from './redact.js';

export type JobStateName = 'completed' | 'failed' | 'active' | 'waiting' | 'delayed' | 'prioritized' | 'waiting-children' | 'missing' | 'unknown';

export interface StageCounts {
  total: number;
  done: number;
  running: number;
  waiting: number;
  failed: number;
}

export interface ShardRow {
  shard: number;
  state: JobStateName;
  workerId: string | null;
  items: number;
  rejected: number;
  estimatedRows: number | null;
  seconds: number | null;
  attempts: number;
  error: string | null;
}

export type BuildStatus = 'queued' | 'training' | 'embedding' | 'merging' | 'publishing' | 'published' | 'failed' | 'cancelled';

export interface BuildView {
  buildId: string;
  name: string | null;
  version: string | null;
  createdAt: string | null;
  store: string | null;
  catalogue: string | null;
  factory: string | null;
  status: BuildStatus;
  failure: string | null;
  cancelled: { at: string; by: string } | null;
  stages: Record<StageName, StageCounts>;
  progress: { fraction: number; items: number; rejected: number; estimatedItems: number | null; itemsPerSecond: number | null; etaSeconds: number | null };
  startedAt: string | null;
  finishedAt: string | null;
  elapsedSeconds: number | null;
  shards: ShardRow[];
  published: Pick<PublishResult, 'version' | 'manifestKey' | 'ntotal' | 'items' | 'rejected'> | null;
}

interface JobInfo {
  job: Job | undefined;
  state: JobStateName;
}

const RUNNING: ReadonlySet<JobStateName> = new Set(['active']);
const WAITING: ReadonlySet<JobStateName> = new Set(['waiting', 'delayed', 'prioritized', 'waiting-children']);

function counts(states: JobStateName[], total: number): StageCounts {
  const c: StageCounts = { total, done: 0, running: 0, waiting: 0, failed: 0 };
  for (const s of states) {
    if (s === 'completed') c.done++;
    else if (s === 'failed') c.failed++;
    else if (RUNNING.has(s)) c.running++;
    else if (WAITING.has(s)) c.waiting++;
  }
  c.waiting += Math.max(0, total - states.length); // jobs not enqueued yet (before the fan-out)
  return c;
}

/** Reads builds from the queues (job states, progress, results) and the store (spec, plan). */
export class BuildReader {
  readonly #stores: ObjectStorePool;
  readonly #specs = new Map<string, { spec: BuildSpec; plan: ShardPlan } | null>();
  readonly #snapshots = new Map<string, { at: number; view: Promise<BuildView> }>();
  #storeListing: { at: number; ids: Promise<string[]> } | undefined;

  constructor(
    private readonly queues: Record<StageName, Queue>,
    private readonly options: {
      storeUrl?: string;
      s3?: S3Options;
      snapshotTtlMs: number;
      isCancelled: (buildId: string) => Promise<{ at: string; by: string } | null>;
    },
  ) {
    // s3:// stores open with the configured endpoint and credentials (MinIO, Ceph), as the workers do.
    this.#stores = new ObjectStorePool(options.s3 ? { s3: options.s3 } : {});
  }

  store(url: string): ObjectStore {
    return this.#stores.get(url);
  }

  /** Store URLs known: the configured one and those named by builds' jobs. */
  storeUrls(): string[] {
    return [...new Set([...(this.options.storeUrl ? [this.options.storeUrl] : []), ...this.#stores.urls()])];
  }

  /** Build ids, newest first: from the train queue's jobs and the store's `builds/` prefix. */
  async listBuildIds(limit: number): Promise<string[]> {
    const jobs = await this.queues.train.getJobs(['active', 'waiting', 'delayed', 'prioritized', 'completed', 'failed'], 0, Math.max(limit * 2, 50) - 1);
    const ids = new Set<string>();
    for (const job of jobs) {
      const data = job?.data as { buildId?: string; storeUrl?: string } | undefined;
      if (!data?.buildId) continue;
      ids.add(data.buildId);
      if (data.storeUrl) this.store(data.storeUrl);
    }
    for (const id of await this.storeBuildIds()) ids.add(id);
    // Build ids start with their UTC start time (b20261123T010203Z-…): string order is time order.
    return [...ids].sort().reverse().slice(0, limit);
  }

  private storeBuildIds(): Promise<string[]> {
    if (!this.options.storeUrl) return Promise.resolve([]);
    if (this.#storeListing && Date.now() - this.#storeListing.at < 30_000) return this.#storeListing.ids;
    const store = this.store(this.options.storeUrl);
    const ids = store.list('builds/').then(
      (keys) => [...new Set(keys.filter((k) => k.endsWith('/build.json')).map((k) => k.split('/')[1] ?? ''))].filter(Boolean),
      () => [] as string[],
    );
    this.#storeListing = { at: Date.now(), ids };
    return ids;
  }

  private async jobInfo(stage: StageName, id: string): Promise<JobInfo> {
    const job = await this.queues[stage].getJob(id);
    if (!job) return { job: undefined, state: 'missing' };
    return { job, state: (await job.getState()) as JobStateName };
  }

  private async specOf(buildId: string, storeUrl: string | undefined): Promise<{ spec: BuildSpec; plan: ShardPlan } | null> {
    const cached = this.#specs.get(buildId);
    if (cached) return cached;
    const urls = [...new Set([...(storeUrl ? [storeUrl] : []), ...this.storeUrls()])];
    for (const url of urls) {
      try {
        const store = this.store(url);
        const found = { spec: await readBuildSpec(store, buildId), plan: await readPlan(store, buildId) };
        this.#specs.set(buildId, found); // immutable once written
        return found;
      } catch {
        // not in this store
      }
    }
    return null;
  }

  /** The state of one build; cached for snapshotTtlMs so many viewers cost Redis one read. */
  snapshot(buildId: string): Promise<BuildView> {
    const hit = this.#snapshots.get(buildId);
    if (hit && Date.now() - hit.at < this.options.snapshotTtlMs) return hit.view;
    const view = this.read(buildId);
    this.#snapshots.set(buildId, { at: Date.now(), view });
    view.catch(() => this.#snapshots.delete(buildId));
    if (this.#snapshots.size > 200) this.#snapshots.delete(this.#snapshots.keys().next().value as string);
    return view;
  }

  /** Forgets cached state (after an action, so the next read shows its effect). */
  invalidate(buildId: string): void {
    this.#snapshots.delete(buildId);
  }

  private async read(buildId: string): Promise<BuildView> {
    const now = Date.now();
    const [train, merge, publish] = await Promise.all([
      this.jobInfo('train', jobIdFor(buildId, 'train')),
      this.jobInfo('merge', jobIdFor(buildId, 'merge')),
      this.jobInfo('publish', jobIdFor(buildId, 'publish')),
    ]);
    const storeUrl = (train.job?.data as { storeUrl?: string } | undefined)?.storeUrl;
    const known = await this.specOf(buildId, storeUrl);
    const shardCount = known?.plan.shardCount ?? 0;
    const shardInfos = await Promise.all(Array.from({ length: shardCount }, (_, i) => this.jobInfo('shard', jobIdFor(buildId, 'shard', i))));
    const cancelled = await this.options.isCancelled(buildId);

    const shards: ShardRow[] = shardInfos.map(({ job, state }, shard) => {
      const stats = state === 'completed' ? (job?.returnvalue as ShardStats | null) : null;
      const progress = job && typeof job.progress === 'object' ? (job.progress as { items?: number; rejected?: number; workerId?: string }) : {};
      const end = job?.finishedOn ?? (state === 'active' ? now : undefined);
      return {
        shard,
        state,
        workerId: stats?.workerId ?? progress.workerId ?? job?.processedBy ?? null,
        items: stats?.items ?? progress.items ?? 0,
        rejected: stats?.rejected ?? progress.rejected ?? 0,
        estimatedRows: known?.plan.shards[shard]?.estimatedRows ?? null,
        seconds: job?.processedOn && end ? (end - job.processedOn) / 1000 : null,
        attempts: job?.attemptsMade ?? 0,
        error: job?.failedReason && state !== 'completed' ? job.failedReason : null,
      };
    });

    const stages: Record<StageName, StageCounts> = {
      train: counts(train.state === 'missing' ? [] : [train.state], 1),
      shard: counts(
        shardInfos.map((s) => s.state).filter((s) => s !== 'missing'),
        shardCount,
      ),
      merge: counts(merge.state === 'missing' ? [] : [merge.state], 1),
      publish: counts(publish.state === 'missing' ? [] : [publish.state], 1),
    };

    let status: BuildStatus;
    let failure: string | null = null;
    if (publish.state === 'completed') status = 'published';
    else if (cancelled) status = 'cancelled';
    else if ([train, merge, publish].some((j) => j.state === 'failed') || stages.shard.failed > 0) {
      status = 'failed';
      const failedShard = shards.find((s) => s.state === 'failed');
      failure = failedShard
        ? `shard ${failedShard.shard} failed after ${attemptsPhrase(failedShard.attempts)}: ${failedShard.error ?? 'unknown error'}`
        : ([train, merge, publish]
            .map((j) => (j.state === 'failed' ? `${j.job?.name} failed after ${attemptsPhrase(j.job?.attemptsMade)}: ${j.job?.failedReason}` : null))
            .find(Boolean) ?? null);
    } else if (train.state !== 'completed') status = train.state === 'active' ? 'training' : 'queued';
    else if (merge.state === 'waiting-children' || merge.state === 'missing') status = 'embedding';
    else if (merge.state !== 'completed') status = 'merging';
    else status = 'publishing';

    const items = shards.reduce((s, r) => s + r.items, 0);
    const rejected = shards.reduce((s, r) => s + r.rejected, 0);
    const estimatedItems = known?.plan.totals.estimatedRows ?? null;
    const shardFraction =
      shardCount === 0
        ? 0
        : shards.reduce((s, r) => s + (r.state === 'completed' ? 1 : r.estimatedRows ? Math.min(0.99, (r.items + r.rejected) / r.estimatedRows) : 0), 0) /
          shardCount;
    const fraction = status === 'published' ? 1 : (train.state === 'completed' ? 0.1 : 0) + 0.8 * shardFraction + (merge.state === 'completed' ? 0.05 : 0);

    const shardStarts = shardInfos.map((s) => s.job?.processedOn).filter((t): t is number => typeof t === 'number');
    const shardsStarted = shardStarts.length ? Math.min(...shardStarts) : null;
    const shardsRunning = stages.shard.running + stages.shard.waiting > 0 && status !== 'failed' && status !== 'cancelled';
    const lastShardEnd = Math.max(0, ...shardInfos.map((s) => s.job?.finishedOn ?? 0));
    const rateEnd = shardsRunning ? now : lastShardEnd || now;
    const itemsPerSecond = shardsStarted && rateEnd > shardsStarted && items > 0 ? items / ((rateEnd - shardsStarted) / 1000) : null;
    const remaining = estimatedItems !== null ? Math.max(0, estimatedItems - items - rejected) : null;
    const etaSeconds = shardsRunning && itemsPerSecond && remaining !== null ? remaining / itemsPerSecond : status === 'published' ? 0 : null;

    const startedAt = train.job?.timestamp ?? null;
    // A failed or cancelled build ended when its last job did: its elapsed time stops there.
    const ended =
      status === 'failed' || status === 'cancelled' ? Math.max(0, ...[train, merge, publish].map((s) => s.job?.finishedOn ?? 0), lastShardEnd) || null : null;
    const finishedAt = publish.state === 'completed' ? (publish.job?.finishedOn ?? null) : ended;
    const result = publish.state === 'completed' ? (publish.job?.returnvalue as PublishResult | null) : null;
    const mergeResult = merge.state === 'completed' ? (merge.job?.returnvalue as MergeResult | null) : null;
    return {
      buildId,
      name: known?.spec.name ?? null,
      version: known?.spec.version ?? null,
      createdAt: known?.spec.createdAt ?? (startedAt ? new Date(startedAt).toISOString() : null),
      store: storeUrl ? redactUrl(storeUrl) : known ? redactUrl(known.spec.storeUrl) : null,
      catalogue: known ? redactUrl(known.spec.catalogue.url) : null,
      factory: known?.spec.index.factory ?? null,
      status,
      failure,
      cancelled,
      stages,
      progress: { fraction, items: mergeResult?.items ?? items, rejected: mergeResult?.rejected ?? rejected, estimatedItems, itemsPerSecond, etaSeconds },
      startedAt: startedAt ? new Date(startedAt).toISOString() : null,
      finishedAt: finishedAt ? new Date(finishedAt).toISOString() : null,
      elapsedSeconds: startedAt ? ((finishedAt ?? now) - startedAt) / 1000 : null,
      shards,
      published: result
        ? { version: result.version, manifestKey: result.manifestKey, ntotal: result.ntotal, items: result.items, rejected: result.rejected }
        : null,
    };
  }

  async close(): Promise<void> {
    await this.#stores.closeAll();
  }
}

export { STAGES };
