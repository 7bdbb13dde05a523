import {
  indexPrefix,
  indexVersionPrefix,
  latestKey,
  manifestKey,
  parseLatestPointer,
  parseManifest,
  sha256Stream,
  validateManifest,
  type LatestPointer,
  type ListedObject,
  type Manifest,
  type ObjectStore,
  ReindexError,
} from '@reindex/core';
import { readBuildSpec } from './build-spec.js';

export class VersionError extends ReindexError {
  declare readonly code: 'VERSION_BROKEN' | 'VERSION_MISSING';
  constructor(code: 'VERSION_BROKEN' | 'VERSION_MISSING', message: string) {
    super(code, message);
  }
}

/**
 * Checks that every file a manifest names is in the store with its recorded size and sha256;
 * throws a VersionError naming the first file that is not.
 */
export async function verifyVersionFiles(store: ObjectStore, manifest: Pick<Manifest, 'name' | 'version' | 'files'>): Promise<void> {
  const prefix = indexVersionPrefix(manifest.name, manifest.version);
  for (const file of manifest.files) {
    const key = `${prefix}${file.path}`;
    const head = await store.head(key);
    if (!head) throw new VersionError('VERSION_BROKEN', `version ${manifest.version}: ${key} is missing`);
    if (head.size !== file.bytes)
      throw new VersionError('VERSION_BROKEN', `version ${manifest.version}: ${key} has ${head.size} bytes, the manifest says ${file.bytes}`);
    const sha = await sha256Stream(await store.getStream(key));
    if (sha !== file.sha256)
      throw new VersionError('VERSION_BROKEN', `version ${manifest.version}: ${key} sha256 ${sha} does not match the manifest's ${file.sha256}`);
  }
}

export async function readManifest(store: ObjectStore, name: string, version: string): Promise<Manifest> {
  const key = manifestKey(name, version);
  let body: Buffer;
  try {
    body = await store.get(key);
  } catch (error) {
    throw new VersionError('VERSION_MISSING', `version ${version} of ${name} has no manifest (${key}): ${(error as Error).message}`);
  }
  return parseManifest(body, key);
}

export async function readLatest(store: ObjectStore, name: string): Promise<LatestPointer | null> {
  const key = latestKey(name);
  if (!(await store.exists(key))) return null;
  return parseLatestPointer(await store.get(key), key);
}

/**
 * Points LATEST at a version, after verifying every file of it. The pointer is one small
 * object written atomically (rename on file://, PutObject on S3): readers see the old version
 * or the new one, never a mix.
 */
export async function moveLatest(store: ObjectStore, name: string, version: string): Promise<LatestPointer> {
  const manifest = await readManifest(store, name, version);
  await verifyVersionFiles(store, manifest);
  const pointer: LatestPointer = { version, manifest: manifestKey(name, version), updatedAt: new Date().toISOString() };
  await store.put(latestKey(name), Buffer.from(JSON.stringify(pointer, null, 2)), { contentType: 'application/json' });
  return pointer;
}

/** Writes the manifest of a version whose files are uploaded, after verifying them. */
export async function writeManifest(store: ObjectStore, manifest: Manifest): Promise<string> {
  validateManifest(manifest);
  await verifyVersionFiles(store, manifest);
  const key = manifestKey(manifest.name, manifest.version);
  await store.put(key, Buffer.from(JSON.stringify(manifest, null, 2)), { contentType: 'application/json' });
  return key;
}

/** Versions of an index name present in the store, newest first (version ids sort by time). */
export async function listVersions(store: ObjectStore, name: string): Promise<string[]> {
  const prefix = indexPrefix(name);
  const versions = new Set<string>();
  for (const key of await store.list(prefix)) {
    const rest = key.slice(prefix.length);
    const slash = rest.indexOf('/');
    if (slash > 0) versions.add(rest.slice(0, slash));
  }
  return [...versions].sort().reverse();
}

/**
 * Keeps the newest `keep` published versions (those with a manifest) and the one LATEST points
 * to, plus the newest `keep` unpublished ones (gated builds waiting for `reindex publish
 * --force`, or a build still publishing); deletes every other version. Gated versions never
 * push a published one out. Returns the deleted version ids.
 */
export async function applyRetention(store: ObjectStore, name: string, keep: number): Promise<string[]> {
  const latest = await readLatest(store, name);
  const versions = await listVersions(store, name);
  const limit = Math.max(keep, 1);
  let published = 0;
  let unpublished = 0;
  const deleted: string[] = [];
  for (const version of versions) {
    const hasManifest = await store.exists(manifestKey(name, version));
    const withinLimit = hasManifest ? ++published <= limit : ++unpublished <= limit;
    if (withinLimit || version === latest?.version) continue;
    await store.deletePrefix(indexVersionPrefix(name, version));
    deleted.push(version);
  }
  return deleted;
}

/** What {@link pruneBuilds} removed. */
export interface PrunedBuilds {
  /** Builds whose intermediates were deleted. */
  builds: string[];
  /** Objects deleted and their bytes. */
  objects: number;
  bytes: number;
}

/**
 * Retention of build intermediates (`builds/<id>/`): the sub-indexes, id files, training sample,
 * trained index and query vectors (every object that is not a `.json` record) of a build of
 * `name` that is published, or that is not among the `keep` newest unpublished ones, are
 * deleted; the small JSON records (spec, plan, shard stats, quality, rejections) stay as the
 * build's history. `spareBuildId` (the build publishing now: a re-run of its jobs, e.g. after
 * a worker died between LATEST and the job's completion, reuses them) is left whole until the
 * next publish. The newest `keep` unpublished builds that hold intermediates keep them, so `--resume` of a
 * failed build still reuses its finished shards. A published build is never resumed.
 */
export async function pruneBuilds(store: ObjectStore, name: string, keep: number, options: { spareBuildId?: string } = {}): Promise<PrunedBuilds> {
  const byBuild = new Map<string, ListedObject[]>();
  for (const object of await store.listObjects('builds/')) {
    const id = object.key.split('/')[1];
    if (id) byBuild.set(id, [...(byBuild.get(id) ?? []), object]);
  }
  const pruned: PrunedBuilds = { builds: [], objects: 0, bytes: 0 };
  let unpublished = 0;
  // Build ids start with their UTC start time: newest first.
  for (const [buildId, objects] of [...byBuild].sort((a, b) => (a[0] < b[0] ? 1 : -1))) {
    const bulky = objects.filter((o) => !o.key.endsWith('.json'));
    if (bulky.length === 0 || buildId === options.spareBuildId) continue;
    const spec = await readBuildSpec(store, buildId).catch(() => undefined);
    if (!spec || spec.name !== name) continue;
    const published = await store.exists(manifestKey(name, spec.version));
    if (!published && ++unpublished <= Math.max(keep, 1)) continue;
    for (const object of bulky) {
      await store.delete(object.key);
      pruned.objects++;
      pruned.bytes += object.size;
    }
    pruned.builds.push(buildId);
  }
  return pruned;
}
