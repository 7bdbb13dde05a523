import type { Manifest, ManifestBuild, ObjectStore } from '@reindex/core';
import { listVersions, readLatest, readManifest } from '@reindex/pipeline';
import { redactUrl } from './redact.js';

export interface VersionSummary {
  name: string;
  version: string;
  latest: boolean;
  buildId: string;
  createdAt: string;
  ntotal: number;
  dim: number;
  metric: string;
  factory: string;
  nprobe: number;
  files: number;
  bytes: number;
  catalogue: { source: string; items: number; rejected: number };
  stageSeconds: Record<string, number>;
  quality: Record<string, unknown>;
  /** How the version was built (the manifest's `build`): incremental from a base, or full. */
  build?: ManifestBuild;
}

export interface IndexVersions {
  name: string;
  store: string;
  latest: string | null;
  versions: VersionSummary[];
  error?: string;
}

function summarise(m: Manifest, latest: string | null): VersionSummary {
  return {
    name: m.name,
    version: m.version,
    latest: m.version === latest,
    buildId: m.buildId,
    createdAt: m.createdAt,
    ntotal: m.ntotal,
    dim: m.dim,
    metric: m.metric,
    factory: m.factory,
    nprobe: m.nprobe,
    files: m.files.length,
    bytes: m.files.reduce((s, f) => s + f.bytes, 0),
    catalogue: { ...m.catalogue, source: redactUrl(m.catalogue.source) },
    stageSeconds: Object.fromEntries(Object.entries(m.stageTimings).map(([k, v]) => [k, v / 1000])),
    quality: m.quality,
    ...(m.build ? { build: m.build } : {}),
  };
}

/** Published versions of index names, newest first, with manifest summaries (manifests cached: they never change). */
export class PublishedVersions {
  readonly #manifests = new Map<string, Promise<Manifest>>();

  async list(store: ObjectStore, names: string[], perName = 10): Promise<IndexVersions[]> {
    return Promise.all(
      names.map(async (name) => {
        try {
          const [latest, versions] = await Promise.all([readLatest(store, name), listVersions(store, name)]);
          const latestVersion = latest?.version ?? null;
          const summaries: VersionSummary[] = [];
          for (const version of versions.slice(0, perName)) {
            const key = `${store.url}\0${name}\0${version}`;
            let manifest = this.#manifests.get(key);
            if (!manifest) {
              manifest = readManifest(store, name, version);
              this.#manifests.set(key, manifest);
              manifest.catch(() => this.#manifests.delete(key)); // a version being written: try again later
            }
            try {
              summaries.push(summarise(await manifest, latestVersion));
            } catch {
              // no manifest yet (publish in progress) or a broken version: not published
            }
          }
          return { name, store: redactUrl(store.url), latest: latestVersion, versions: summaries };
        } catch (error) {
          return { name, store: redactUrl(store.url), latest: null, versions: [], error: (error as Error).message };
        }
      }),
    );
  }

  /** Index names present under `indexes/` of a store. */
  async names(store: ObjectStore): Promise<string[]> {
    const keys = await store.list('indexes/');
    return [...new Set(keys.map((k) => k.split('/')[1] ?? '').filter(Boolean))].sort();
  }
}
