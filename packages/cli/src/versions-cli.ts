import { readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { ManifestError, manifestKey, type ManifestBuild, type ObjectStore } from '@reindex/core';
import {
  applyRetention,
  listVersions,
  pruneBuilds,
  moveLatest,
  readBuildSpec,
  readLatest,
  readManifest,
  readPlan,
  readQualityRecord,
  verifyVersionFiles,
  VersionError,
} from '@reindex/pipeline';
import { SEARCH_CACHE_DIR } from './published-index.js';

export interface VersionSummary {
  version: string;
  latest: boolean;
  buildId?: string;
  createdAt?: string;
  ntotal?: number;
  items?: number;
  rejected?: number;
  nprobe?: number;
  factory?: string;
  /** How the version was built (the manifest's `build`). */
  build?: ManifestBuild;
  /** Set when the manifest is missing or invalid (a partial or broken version). */
  problem?: string;
}

/** Where a build stands, read from the artifacts it left in the store (no Redis needed). */
export interface BuildSummary {
  buildId: string;
  name?: string;
  version?: string;
  createdAt?: string;
  /** `trained` once the trained index is in the store. */
  train: 'pending' | 'trained';
  shardsDone: number;
  shardsTotal?: number;
  /** The quality gate's verdict once measured: `passed`, `failed: <checks>`, or `pending`. */
  quality: string;
  /** A manifest exists for the build's version. */
  published: boolean;
}

export interface IndexStatus {
  name: string;
  store: string;
  latest: string | null;
  versions: VersionSummary[];
  builds: BuildSummary[];
}

/** `reindex status`: what LATEST points to, every version with its manifest summary, the builds. */
export async function indexStatus(store: ObjectStore, name: string): Promise<IndexStatus> {
  const latest = await readLatest(store, name);
  const versions: VersionSummary[] = [];
  for (const version of await listVersions(store, name)) {
    try {
      const m = await readManifest(store, name, version);
      versions.push({
        version,
        latest: version === latest?.version,
        buildId: m.buildId,
        createdAt: m.createdAt,
        ntotal: m.ntotal,
        items: m.catalogue.items,
        rejected: m.catalogue.rejected,
        nprobe: m.nprobe,
        factory: m.factory,
        ...(m.build ? { build: m.build } : {}),
      });
    } catch (error) {
      versions.push({ version, latest: version === latest?.version, problem: (error as Error).message });
    }
  }
  return { name, store: store.url, latest: latest?.version ?? null, versions, builds: await buildSummaries(store, name) };
}

/** The builds of index `name` in the store, newest first, with their stages. */
export async function buildSummaries(store: ObjectStore, name: string): Promise<BuildSummary[]> {
  const keysByBuild = new Map<string, string[]>();
  for (const key of await store.list('builds/')) {
    const id = key.split('/')[1];
    if (id) keysByBuild.set(id, [...(keysByBuild.get(id) ?? []), key.slice(`builds/${id}/`.length)]);
  }
  const out: BuildSummary[] = [];
  for (const [buildId, keys] of [...keysByBuild].sort((a, b) => b[0].localeCompare(a[0]))) {
    const spec = keys.includes('build.json') ? await readBuildSpec(store, buildId).catch(() => undefined) : undefined;
    if (spec && spec.name !== name) continue;
    const plan = keys.includes('plan.json') ? await readPlan(store, buildId).catch(() => undefined) : undefined;
    const record = keys.includes('quality.json') ? await readQualityRecord(store, buildId).catch(() => undefined) : undefined;
    out.push({
      buildId,
      ...(spec ? { name: spec.name, version: spec.version, createdAt: spec.createdAt } : {}),
      train: keys.includes('trained.index') ? 'trained' : 'pending',
      shardsDone: keys.filter((k) => /^shards\/\d+\.json$/.test(k)).length,
      ...(plan ? { shardsTotal: plan.shardCount } : {}),
      quality: record ? (record.gate.passed ? 'passed' : `failed: ${record.gate.failed.join(', ')}`) : 'pending',
      published: spec ? await store.exists(manifestKey(spec.name, spec.version)) : false,
    });
  }
  return out;
}

/**
 * `reindex rollback [--to VERSION]`: moves LATEST atomically to VERSION (default: the newest
 * version older than the current one), after verifying every file of it; a version whose files
 * are missing or fail their checksums is refused and LATEST stays where it was.
 */
export async function rollback(store: ObjectStore, name: string, to?: string): Promise<{ from: string | null; to: string }> {
  const latest = await readLatest(store, name);
  let target = to;
  if (!target) {
    // The newest older version that is whole: a version without a valid manifest (a build the
    // quality gate stopped, or a partial upload) or with a damaged file is passed over.
    const older = (await listVersions(store, name)).filter((v) => !latest || v < latest.version);
    const skipped: string[] = [];
    for (const version of older) {
      try {
        await verifyVersionFiles(store, await readManifest(store, name, version));
        target = version;
        break;
      } catch (error) {
        if (!(error instanceof VersionError) && !(error instanceof ManifestError)) throw error;
        skipped.push(version);
      }
    }
    if (!target) {
      throw new VersionError(
        'VERSION_MISSING',
        `index "${name}" has no intact version older than ${latest?.version ?? '(none)'} to roll back to${skipped.length ? ` (broken: ${skipped.join(', ')})` : ''}`,
      );
    }
  }
  if (target === latest?.version) throw new VersionError('VERSION_MISSING', `LATEST already points to ${target}`);
  await moveLatest(store, name, target);
  return { from: latest?.version ?? null, to: target };
}

/** What `reindex gc` removed. */
export interface GarbageCollected {
  /** Versions deleted from the store (beyond `keep`, never LATEST). */
  deleted: string[];
  /** Builds whose intermediates (sub-indexes, samples, id files) were deleted; their JSON records stay. */
  prunedBuilds: string[];
  prunedBytes: number;
  /** Versions removed from the local search cache (`var/cache/<name>/`): those no longer in the store. */
  cacheRemoved: string[];
}

/**
 * `reindex gc [--keep K]`: retention by hand. Publish applies the same after every build, except
 * that it spares its own build's intermediates until the next publish.
 */
export async function collectGarbage(store: ObjectStore, name: string, keep: number, cacheDir = SEARCH_CACHE_DIR): Promise<GarbageCollected> {
  const deleted = await applyRetention(store, name, keep);
  const pruned = await pruneBuilds(store, name, keep);
  const kept = new Set(await listVersions(store, name));
  const cacheRemoved: string[] = [];
  for (const version of await readdir(path.join(cacheDir, name)).catch(() => [] as string[])) {
    if (kept.has(version)) continue;
    await rm(path.join(cacheDir, name, version), { recursive: true, force: true });
    cacheRemoved.push(version);
  }
  return { deleted, prunedBuilds: pruned.builds, prunedBytes: pruned.bytes, cacheRemoved };
}
