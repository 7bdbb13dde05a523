import { PlanError, qualityQueriesKeys, readObjectAt, sampleRows, type Catalogue, type ObjectStore, type S3Options, type ShardPlan } from '@reindex/core';
import { BundleError, QueryEncoder, collapseHeads, type Embedder, type ModelBundle } from '@reindex/item-tower';
import { type BuildSpec, type QueryFileInfo, type QuerySource, parseQueryFile, textQueryProblem } from '@reindex/pipeline';
import { embedAll } from './processors/embed-rows.js';

const ENCODE_BATCH = 256;

/**
 * Draws the held-out queries of a build (a uniform sample with the quality seed, not the
 * training one) and uploads their vectors. With a query tower whose fusion rule is linear
 * (mean, weighted), each query is the title of a sampled item encoded into H heads and collapsed
 * into the one vector whose inner product is the fused score (so exact search on it reproduces
 * post-fusion ranking exactly); otherwise the sampled items' own embeddings are the queries.
 * A build with `quality.queriesUrl` measures the file's queries instead (checked against the
 * sha256 the plan recorded).
 */
export async function prepareQualityQueries(
  store: ObjectStore,
  spec: BuildSpec,
  plan: ShardPlan,
  catalogue: Catalogue,
  bundle: ModelBundle | undefined,
  embedder: () => Promise<Embedder>,
  options: { s3?: S3Options } = {},
): Promise<QueryFileInfo | undefined> {
  const quality = spec.quality;
  if (!quality) return undefined;
  const dim = spec.model.dim;
  const fusion = bundle?.manifest.query?.fusion;
  const linear = bundle !== undefined && bundle.queryModelPath !== null && fusion !== undefined && (fusion.kind === 'mean' || fusion.kind === 'weighted');
  let vectors: Float32Array;
  let count: number;
  let sampled: number;
  let source: QuerySource = 'item-embeddings';
  let sourceNote: string | undefined;
  let selfIds: string[] | undefined;
  const ownVectors = spec.catalogue.fields.embedding !== undefined;
  if (quality.queriesUrl !== undefined) {
    source = 'query-file';
    sourceNote = `queries from ${quality.queriesUrl}`;
    const bytes = await readObjectAt(quality.queriesUrl, options.s3 ? { s3: options.s3 } : {});
    const parsed = parseQueryFile(bytes, quality.queriesUrl, { dim, normalize: spec.catalogue.normalizeEmbeddings === true });
    if (quality.queriesSha256 !== undefined && parsed.sha256 !== quality.queriesSha256) {
      throw new PlanError(
        'QUERIES_CHANGED',
        `query file ${quality.queriesUrl} changed since the build was planned (sha256 ${parsed.sha256}, planned ${quality.queriesSha256}); re-plan the build`,
      );
    }
    count = sampled = parsed.entries.length;
    vectors = new Float32Array(count * dim);
    const texts: Array<{ at: number; text: string }> = [];
    parsed.entries.forEach((entry, at) => {
      if ('vector' in entry) vectors.set(entry.vector, at * dim);
      else texts.push({ at, text: entry.text });
    });
    if (texts.length > 0) {
      const problem = textQueryProblem(bundle);
      if (problem !== undefined) throw new PlanError('QUERIES_INVALID', `query file ${quality.queriesUrl} has text queries, but ${problem}`);
      await encodeQueries(
        bundle!,
        texts.map((t) => t.text),
        dim,
        (i, vector) => vectors.set(vector, texts[i]!.at * dim),
      );
    }
  } else {
    const rows = await sampleRows(catalogue, plan, quality.queries, quality.seed);
    sampled = rows.length;
    if (!ownVectors && linear) {
      source = 'query-tower';
      const titleField = spec.catalogue.fields.title;
      const titles = rows.map((r) => r.value[titleField]).filter((t): t is string => typeof t === 'string' && t.trim() !== '');
      vectors = new Float32Array(titles.length * dim);
      await encodeQueries(bundle!, titles, dim, (i, vector) => vectors.set(vector, i * dim));
      count = titles.length;
    } else {
      if (ownVectors)
        sourceNote = `the catalogue carries its own vectors (field "${spec.catalogue.fields.embedding}"): held-out items' vectors are the queries`;
      else if (bundle?.queryModelPath != null) sourceNote = `query tower fusion "${fusion?.kind}" is not linear: one vector per query cannot reproduce it`;
      const embedded = await embedAll(
        await embedder(),
        rows.map((r) => r.value),
        spec,
      );
      ({ vectors, count } = embedded);
      selfIds = Array.from(embedded.ids, String);
    }
  }
  const info: QueryFileInfo = { count, dim, source, ...(sourceNote ? { sourceNote } : {}), sampled, seed: quality.seed, ...(selfIds ? { selfIds } : {}) };
  const body = Buffer.from(vectors.buffer, vectors.byteOffset, count * dim * 4);
  const keys = qualityQueriesKeys(spec.buildId);
  await store.put(keys.data, body, { contentType: 'application/octet-stream' });
  await store.put(keys.info, Buffer.from(JSON.stringify(info, null, 2)), { contentType: 'application/json' });
  return info;
}

/** Encodes texts with the bundle's query tower (linear fusion), each into the one fused vector. */
async function encodeQueries(bundle: ModelBundle, texts: string[], dim: number, put: (i: number, vector: Float32Array) => void): Promise<void> {
  const fusion = bundle.manifest.query?.fusion;
  if (fusion?.kind !== 'mean' && fusion?.kind !== 'weighted')
    throw new BundleError('BUNDLE_INVALID', `model bundle ${bundle.dir}: query fusion "${fusion?.kind}" is not linear`);
  const encoder = await QueryEncoder.create(bundle);
  try {
    for (let start = 0; start < texts.length; start += ENCODE_BATCH) {
      const batch = texts.slice(start, start + ENCODE_BATCH);
      const heads = await encoder.encode(batch);
      const per = encoder.heads * dim;
      for (let i = 0; i < batch.length; i++) put(start + i, collapseHeads(heads.subarray(i * per, (i + 1) * per), dim, fusion));
    }
  } finally {
    await encoder.close();
  }
}
