import { ManifestError, type ObjectStore } from '@reindex/core';
import { applyRetention, listVersions, moveLatest, readLatest, readManifest, verifyVersionFiles, VersionError } from '@reindex/worker';

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
  /** Set when the manifest is missing or invalid (a partial or broken version). */
  problem?: string;
}

export interface IndexStatus {
  name: string;
  store: string;
  latest: string | null;
  versions: VersionSummary[];
  builds: string[];
}

/** `reindex status`: what LATEST points to, every version with its manifest summary, the builds. */
export async function indexStatus(store: ObjectStore, name: string): Promise<IndexStatus> {
  const latest = await readLatest(store, name);
  const versions: VersionSummary[] = [];
  for (const version of await listVersions(store, name)) {
    try {
      const m = await readManifest(store, name, version);
      versions.push({ version, latest: version === latest?.version, buildId: m.buildId, createdAt: m.createdAt, ntotal: m.ntotal, items: m.catalogue.items, rejected: m.catalogue.rejected, nprobe: m.nprobe, factory: m.factory });
    } catch (error) {
      versions.push({ version, latest: version === latest?.version, problem: (error as Error).message });
    }
  }
  const builds = [...new Set((await store.list('builds/')).map((k) => k.split('/')[1]!).filter(Boolean))].sort().reverse();
  return { name, store: store.url, latest: latest?.version ?? null, versions, builds };
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
      throw new VersionError('VERSION_MISSING', `index "${name}" has no intact version older than ${latest?.version ?? '(none)'} to roll back to${skipped.length ? ` (broken: ${skipped.join(', ')})` : ''}`);
    }
  }
  if (target === latest?.version) throw new VersionError('VERSION_MISSING', `LATEST already points to ${target}`);
  await moveLatest(store, name, target);
  return { from: latest?.version ?? null, to: target };
}

/** `reindex gc [--keep K]`: retention by hand (publish applies it after every build). */
export async function collectGarbage(store: ObjectStore, name: string, keep: number): Promise<string[]> {
  return applyRetention(store, name, keep);
}
