import { openCatalogue, planShards, type Manifest, type ObjectStore, type S3Options } from '@reindex/core';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { BundleError, QueryEncoder, collapseHeads, type FusionRule } from '@reindex/item-tower';
import { openModelBundle, readBuildSpec } from '@reindex/pipeline';
import { CliError } from './args.js';
import { openPublishedIndex, resolveVersion } from './published-index.js';

type PublishedIndex = Awaited<ReturnType<typeof openPublishedIndex>>;

export interface SearchHit {
  id: string;
  title: string | null;
  score: number;
}

export interface SearchOptions {
  name: string;
  k: number;
  version?: string;
  /** Lists probed; default: the manifest's `nprobe` (the one the quality stage chose). */
  nprobe?: number;
  /**
   * Model bundle (local directory or object-store prefix); default: the bundle the build
   * recorded (its content hash must match the manifest's).
   */
  modelDir?: string;
  /** Options for an `s3://` bundle. */
  s3?: S3Options;
}

/** What to search for: a text for the query tower, or a vector of the index's space. */
export type SearchQuery = { text: string } | { vector: Float32Array };

/**
 * `reindex search`: embeds a text query with the bundle's query tower (H heads) and scores items
 * by the bundle's post-fusion rule. Linear rules (mean, weighted) are exact with one search: the
 * fused score is the inner product with the combined head vector. `max` searches each head and
 * keeps each item's best head score. A vector query is searched as it is (scaled to unit length
 * when the build normalised its items' vectors); it is the only kind an index built from a
 * catalogue's own vectors without a model bundle answers.
 */
export async function searchIndex(store: ObjectStore, query: SearchQuery, options: SearchOptions): Promise<SearchHit[]> {
  const version = await resolveVersion(store, options.name, options.version);
  const published = await openPublishedIndex(store, options.name, version);
  const { manifest, index } = published;
  try {
    const spec = await readBuildSpec(store, manifest.buildId);
    const nprobe = options.nprobe ?? manifest.nprobe;
    const scores =
      'vector' in query
        ? await vectorSearch(index, queryVector(query.vector, manifest.dim, spec.catalogue.normalizeEmbeddings === true), options.k, nprobe)
        : await textSearch(published, query.text, spec.model.dir, { ...options, nprobe, version });
    const ranked = [...scores.entries()].sort((a, b) => b[1] - a[1]).slice(0, options.k);
    const ids = ranked.map(([faissId]) => published.idMap?.lookup(faissId) ?? faissId.toString());
    const titles = await lookupTitles(manifest, ids, spec.catalogue.fields);
    return ranked.map(([, score], i) => ({ id: ids[i]!, title: titles.get(ids[i]!) ?? null, score }));
  } finally {
    await published.close();
  }
}

/** A query vector checked against the index: the dim, finite values, unit length when asked. */
function queryVector(vector: Float32Array, dim: number, normalize: boolean): Float32Array {
  if (vector.length !== dim) throw new CliError(`the query vector has ${vector.length} numbers, the index has dim ${dim}`);
  const bad = vector.findIndex((x) => !Number.isFinite(x));
  if (bad >= 0) throw new CliError(`the query vector's value ${bad} is ${vector[bad]}, not a finite number`);
  if (!normalize) return vector;
  const norm = Math.hypot(...vector);
  if (norm === 0) throw new CliError('the query vector is all zeros and cannot be normalised (the build normalised its vectors)');
  return vector.map((x) => x / norm);
}

async function vectorSearch(index: PublishedIndex['index'], vector: Float32Array, k: number, nprobe: number): Promise<Map<bigint, number>> {
  const scores = new Map<bigint, number>();
  const { labels, distances } = await index.search(vector, k, { nprobe });
  labels.forEach((id, j) => {
    if (id >= 0n) scores.set(id, distances[j]!);
  });
  return scores;
}

async function textSearch(
  published: PublishedIndex,
  text: string,
  plannedModelDir: string | null,
  options: SearchOptions & { nprobe: number; version: string },
): Promise<Map<bigint, number>> {
  const { manifest } = published;
  const modelDir = options.modelDir ?? plannedModelDir;
  if (modelDir === null) {
    throw new CliError(
      `version ${options.version} was built from the catalogue's own vectors without a model bundle: search it with --vector, or give --model DIR for a bundle whose query tower maps text into the same space`,
    );
  }
  // An object-store bundle is downloaded for this one query, then removed.
  const cacheDir = await mkdtemp(path.join(os.tmpdir(), 'reindex-search-'));
  try {
    const bundle = await openModelBundle(modelDir, { cacheDir, ...(options.s3 ? { s3: options.s3 } : {}) });
    if (manifest.modelBundleHash !== null && bundle.contentHash !== manifest.modelBundleHash) {
      throw new BundleError(
        'BUNDLE_CHANGED',
        `model bundle ${modelDir} (${bundle.contentHash}) is not the one version ${options.version} was built with (${manifest.modelBundleHash})`,
      );
    }
    const encoder = await QueryEncoder.create(bundle);
    try {
      const heads = await encoder.encode([text]);
      return await fusedSearch(published.index, heads, manifest, encoder.fusion, options.k, options.nprobe);
    } finally {
      await encoder.close();
    }
  } finally {
    await rm(cacheDir, { recursive: true, force: true });
  }
}

async function fusedSearch(
  index: PublishedIndex['index'],
  heads: Float32Array,
  manifest: Manifest,
  rule: FusionRule,
  k: number,
  nprobe: number,
): Promise<Map<bigint, number>> {
  const dim = manifest.dim;
  const scores = new Map<bigint, number>();
  if (rule.kind === 'mean' || rule.kind === 'weighted') {
    const q = collapseHeads(heads, dim, rule);
    const { labels, distances } = await index.search(q, k, { nprobe });
    labels.forEach((id, j) => {
      if (id >= 0n) scores.set(id, distances[j]!);
    });
    return scores;
  }
  const perHead = Math.max(k * 5, 50);
  const { labels, distances } = await index.search(heads, perHead, { nprobe });
  labels.forEach((id, j) => {
    if (id < 0n) return;
    const s = distances[j]!;
    if (!scores.has(id) || scores.get(id)! < s) scores.set(id, s);
  });
  return scores;
}

/**
 * Titles of the hits, read from the catalogue the version was built from (the index holds
 * vectors and ids only). Streams the catalogue once and stops when every id is found.
 */
async function lookupTitles(manifest: Manifest, ids: string[], fields: { id: string; title: string }): Promise<Map<string, string>> {
  const wanted = new Set(ids);
  const titles = new Map<string, string>();
  const catalogue = await openCatalogue(manifest.catalogue.source);
  try {
    const plan = await planShards(catalogue, 1);
    for await (const batch of catalogue.readShard(plan.shards[0]!, { batchSize: 4096 })) {
      for (const row of batch.rows) {
        const id = String(row.value[fields.id] ?? '').trim();
        if (wanted.has(id) && !titles.has(id)) titles.set(id, String(row.value[fields.title] ?? ''));
      }
      if (titles.size === wanted.size) break;
    }
  } finally {
    await catalogue.close();
  }
  return titles;
}
