import { mkdir, readFile, readdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { REPO_ROOT } from '@reindex/coordinator';
import { indexVersionPrefix, parseIdMap, type IdMapper, type Manifest, type ObjectStore } from '@reindex/core';
import { FaissIndex } from '@reindex/faiss';
import { DATA_FILE, VersionError, INDEX_FILE, readLatest, readManifest } from '@reindex/pipeline';

export interface PublishedIndex {
  manifest: Manifest;
  index: FaissIndex;
  idMap?: IdMapper;
  close(): Promise<void>;
}

/** Which version to open: the one named, else the one LATEST points to. */
export async function resolveVersion(store: ObjectStore, name: string, version?: string): Promise<string> {
  if (version) return version;
  const latest = await readLatest(store, name);
  if (!latest) throw new VersionError('VERSION_MISSING', `index "${name}" has no published version in ${store.url} (no LATEST)`);
  return latest.version;
}

/**
 * Loads a published version the way a serving process does: downloads its files side by side
 * (a local cache, reused when sizes match), then reads `index.faiss` with standard faiss I/O.
 */
/**
 * Where `reindex search` keeps downloaded versions (`<dir>/<name>/<version>/`); `reindex gc`
 * removes versions the store no longer has, and a search keeps only the version it opened.
 */
export const SEARCH_CACHE_DIR = path.join(REPO_ROOT, 'var/cache');

export async function openPublishedIndex(store: ObjectStore, name: string, version: string, cacheDir = SEARCH_CACHE_DIR): Promise<PublishedIndex> {
  const manifest = await readManifest(store, name, version);
  const dir = path.join(cacheDir, name, version);
  await mkdir(dir, { recursive: true });
  const prefix = indexVersionPrefix(name, version);
  // What a search reads: the index file(s) and the string-id map (not the fingerprints, not the quality files).
  for (const file of manifest.files.filter((f) => f.path === INDEX_FILE || f.path === DATA_FILE || f.path === manifest.idMap)) {
    const local = path.join(dir, file.path);
    const size = await stat(local).then(
      (s) => s.size,
      () => -1,
    );
    if (size !== file.bytes) await store.download(`${prefix}${file.path}`, local);
  }
  // One version per index in the cache: the one searched last (others are a re-download away).
  for (const other of await readdir(path.join(cacheDir, name))) {
    if (other !== version) await rm(path.join(cacheDir, name, other), { recursive: true, force: true });
  }
  const index = await FaissIndex.read(path.join(dir, INDEX_FILE));
  const idMap = manifest.idMap ? parseIdMap(await readFile(path.join(dir, manifest.idMap)), manifest.idMap) : undefined;
  return { manifest, index, ...(idMap ? { idMap } : {}), close: () => index.close() };
}
