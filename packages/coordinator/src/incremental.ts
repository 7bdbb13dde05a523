import type { ObjectStore } from '@reindex/core';
import {
  DATA_FILE,
  FINGERPRINTS_FILE,
  INDEX_FILE,
  QUALITY_FILES,
  readBuildSpec,
  readLatest,
  readManifest,
  verifyVersionFiles,
  type BuildSpec,
  type IncrementalBase,
} from '@reindex/pipeline';

/** What an incremental build is decided on: the new build's spec as planned for a full build. */
export type IncrementalDecision = { base: IncrementalBase; baseSpec: BuildSpec } | { reason: string };

/**
 * Whether a build can start from LATEST instead of from scratch: the same model bundle, the
 * same feature columns and id rules, the same index (factory, metric, dim), a base that
 * published fingerprints and quality files with its lists in memory, and whose every file
 * verifies (sizes and sha256). Any other case is a full build, with the reason.
 */
export async function decideIncremental(store: ObjectStore, planned: BuildSpec): Promise<IncrementalDecision> {
  const latest = await readLatest(store, planned.name);
  if (!latest) return { reason: 'no previous version' };
  const manifest = await readManifest(store, planned.name, latest.version);
  const baseSpec = await readBuildSpec(store, manifest.buildId).catch(() => undefined);
  if (!baseSpec) return { reason: `the build record of ${latest.version} is gone` };
  if (manifest.modelBundleHash !== planned.model.contentHash) return { reason: 'model changed' };
  const features = (s: BuildSpec) =>
    JSON.stringify([s.catalogue.fields, s.catalogue.normalizeEmbeddings ?? false, s.catalogue.idKind ?? 'int64', s.catalogue.duplicateIds ?? 'reject']);
  if (features(baseSpec) !== features(planned)) return { reason: 'feature columns or id rules changed' };
  if (manifest.factory !== planned.index.factory) return { reason: `factory changed (${manifest.factory} → ${planned.index.factory})` };
  if (manifest.metric !== planned.index.metric || manifest.dim !== planned.model.dim) return { reason: 'metric or dim changed' };
  const paths = new Set(manifest.files.map((f) => f.path));
  if (paths.has(DATA_FILE)) return { reason: `${latest.version}'s lists are on disk (incremental builds merge in memory)` };
  for (const needed of [INDEX_FILE, FINGERPRINTS_FILE, ...Object.values(QUALITY_FILES)]) {
    if (!paths.has(needed)) return { reason: `${latest.version} published no ${needed}` };
  }
  try {
    await verifyVersionFiles(store, manifest);
  } catch (error) {
    return { reason: `${latest.version} does not verify: ${(error as Error).message}` };
  }
  return { base: { version: manifest.version, buildId: manifest.buildId, ntotal: manifest.ntotal, files: manifest.files }, baseSpec };
}
