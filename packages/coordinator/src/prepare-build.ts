import {
  PlanError,
  SYNTHETIC_FIELDS,
  indexParamsForConfig,
  isSyntheticUrl,
  openCatalogue,
  parseSyntheticUrl,
  planShards,
  versionIdFor,
  formatLocation,
  mapLimit,
  readObjectAt,
  type Catalogue,
  type ParquetColumnShape,
  type CatalogueRow,
  type ItemIdKind,
  type ReindexConfig,
  type ShardPlan,
  decideIdKind,
  openObjectStore,
} from '@reindex/core';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { FaissIndex, type Metric } from '@reindex/faiss';
import { FeatureBatch, Featurizer, PrecomputedEmbedder, checkBundleModels, type ModelBundle, type Rejection } from '@reindex/item-tower';
import { newBuildId } from '@reindex/queue';
import { decideIncremental } from './incremental.js';
import { isBundleUrl, openModelBundle, parseQueryFile, textQueryProblem, type BuildSpec } from '@reindex/pipeline';

export interface PreparedBuild {
  spec: BuildSpec;
  plan: ShardPlan;
  planMs: number;
}

/** Probed rows the item tower embeds at plan time (a run of the model, not a measurement). */
const BUNDLE_CHECK_ROWS = 8;

/** Seed of the training sample: fixed, so a rebuild of the same catalogue trains on the same rows. */
const TRAIN_SEED = 20230430;
/** Seed of the held-out quality queries: fixed too, and never the training seed. */
const QUALITY_SEED = 20240917;

/**
 * Plans a build from metadata only (never reads the whole catalogue): shards, index
 * parameters from the item count and memory budget (or the configured factory string), and
 * the model bundle, validated before any job exists.
 */
export async function prepareBuild(
  config: ReindexConfig & { catalogue: { url: string }; modelDir?: string; force?: boolean },
  now = new Date(),
): Promise<PreparedBuild> {
  const started = Date.now();
  const ownVectors = config.catalogue.fields.embedding !== undefined;
  if (config.modelDir === undefined && !ownVectors) {
    throw new PlanError(
      'MODEL_REQUIRED',
      'a model bundle (modelDir, --model) is needed to embed the catalogue, unless catalogue.fields.embedding names a column of vectors it already has',
    );
  }
  // A bundle in an object store is fetched to read and hash it; workers fetch their own copy.
  const bundleCache = config.modelDir !== undefined && isBundleUrl(config.modelDir) ? await mkdtemp(path.join(os.tmpdir(), 'reindex-bundle-')) : undefined;
  let bundle: ModelBundle | undefined;
  let plan: ShardPlan;
  let ids: { kind: ItemIdKind; source: string };
  let dim: number;
  try {
    bundle =
      config.modelDir === undefined ? undefined : await openModelBundle(config.modelDir, { ...(bundleCache ? { cacheDir: bundleCache } : {}), s3: config.s3 });
    const catalogue = await openCatalogue(config.catalogue.url, { s3: config.s3 });
    try {
      plan = await planShards(catalogue, config.shardCount);
      await checkCatalogueFiles(config, catalogue);
      const probe = await probeRows(catalogue, plan);
      ids = buildIdKind(config, probe);
      dim = vectorDim(config, bundle, probe);
      await checkMappedFields(config, dim, bundle, probe);
      // The ONNX files are loaded and run once here (also for --dry-run), so a bundle that does
      // not match its bundle.json fails before any job, not in every worker.
      if (bundle) {
        const fields = config.catalogue.fields;
        await checkBundleModels(bundle, {
          itemTower: !ownVectors,
          fieldMapping: { ...fields },
          records: probe.rows.slice(0, BUNDLE_CHECK_ROWS).map((r) => ({ ...r.value, [fields.id]: 0 })),
        });
      }
    } finally {
      await catalogue.close();
    }
  } finally {
    if (bundleCache) await rm(bundleCache, { recursive: true, force: true });
  }
  if (isSyntheticUrl(config.catalogue.url)) {
    const synthetic = parseSyntheticUrl(config.catalogue.url);
    if (synthetic.dim !== dim) {
      throw new PlanError(
        'CATALOGUE_DIM_MISMATCH',
        `catalogue ${config.catalogue.url} has vectors of dim ${synthetic.dim}, the model bundle ${config.modelDir} has dim ${dim}`,
      );
    }
    if (config.catalogue.fields.embedding !== SYNTHETIC_FIELDS.embedding) {
      throw new PlanError(
        'CATALOGUE_FIELDS_INVALID',
        `a synthetic catalogue's rows are { id, embedding }: set catalogue.fields.embedding to "${SYNTHETIC_FIELDS.embedding}" (it is ${JSON.stringify(config.catalogue.fields.embedding)})`,
      );
    }
  }
  const queriesSha256 = config.index.quality.queriesUrl === undefined ? undefined : await checkQueryFile(config, config.index.quality.queriesUrl, dim, bundle);
  const rows = plan.totals.estimatedRows;
  const chosen = indexParamsForConfig(config.index, rows, dim);
  const { servingMemoryBytes, builderMemoryBytes } = config.index;
  const { factory, nlist } = chosen;
  checkFactory(factory, dim, config.index.metric);
  const buildId = newBuildId(now);
  const spec: BuildSpec = {
    formatVersion: 1,
    buildId,
    name: config.name,
    // Time first, so versions sort by age; the build's random suffix keeps two builds started
    // in the same second from writing into one version.
    version: `${versionIdFor(now)}-${buildId.slice(-6)}`,
    createdAt: now.toISOString(),
    storeUrl: config.store.url,
    catalogue: {
      url: config.catalogue.url,
      fields: config.catalogue.fields,
      normalizeEmbeddings: config.catalogue.normalizeEmbeddings,
      idKind: ids.kind,
      idKindSource: ids.source,
      duplicateIds: config.catalogue.duplicateIds,
    },
    model: bundle ? { dir: bundleCache ? config.modelDir! : bundle.dir, contentHash: bundle.contentHash, dim } : { dir: null, contentHash: null, dim },
    index: {
      ...chosen,
      metric: config.index.metric,
      // Until the quality stage measures it: a tenth of the lists, at least 8, at most nlist.
      nprobe: config.index.nprobe ?? Math.min(nlist, Math.max(8, Math.round(nlist / 10))),
      servingMemoryBytes,
      builderMemoryBytes,
      trainSeed: TRAIN_SEED,
    },
    keepVersions: config.keepVersions,
    quality: {
      ...config.index.quality,
      seed: QUALITY_SEED,
      ...(config.index.nprobe !== undefined ? { fixedNprobe: config.index.nprobe } : {}),
      ...(queriesSha256 !== undefined ? { queriesSha256 } : {}),
    },
    force: config.force === true,
  };
  if (config.incremental === 'auto') {
    const store = openObjectStore(config.store.url, { s3: config.s3 });
    try {
      const decision = await decideIncremental(store, spec);
      if ('reason' in decision) spec.fullBuildReason = decision.reason;
      else {
        // The base's lists and codes are reused: its index parameters, as it was trained.
        spec.incremental = decision.base;
        spec.index = { ...decision.baseSpec.index, servingMemoryBytes, builderMemoryBytes };
      }
    } finally {
      await store.close();
    }
  }
  return { spec, plan, planMs: Date.now() - started };
}

/**
 * Instantiates the factory string with faiss at plan time, so an unknown string or an index
 * that is not IVF (Flat, HNSW32: sub-indexes are merged list by list, and only IVF indexes
 * have lists) fails here with the option named, not in every worker after the train stage.
 */
function checkFactory(factory: string, dim: number, metric: Metric): void {
  let index: FaissIndex;
  try {
    index = FaissIndex.fromFactory(dim, factory, metric);
  } catch (cause) {
    throw new PlanError(
      'INDEX_FACTORY_INVALID',
      `index.factory ${JSON.stringify(factory)} is not a faiss factory string faiss accepts for dim ${dim}: ${(cause as Error).message}`,
      { cause },
    );
  }
  try {
    const described = index.describe();
    if (described.nlist === undefined) {
      throw new PlanError(
        'INDEX_FACTORY_UNSUPPORTED',
        `index.factory ${JSON.stringify(factory)} builds a ${described.type}; reindex builds IVF indexes (e.g. "IVF4096,PQ32"), whose shard sub-indexes merge list by list`,
      );
    }
  } finally {
    index.close().catch(() => undefined);
  }
}

/** Files whose heads are read at once at plan time. */
const FILE_CHECK_CONCURRENCY = 8;

/**
 * Checks every file before any job exists, so an unreadable catalogue fails here with the file
 * named instead of at the train stage: each Parquet footer's codecs (read with the footers) and
 * the mapped id and title (or vector) columns with a type they can be read as; then the first
 * rows are decoded, for every JSONL file (one ranged read each) and for the first Parquet file
 * of each distinct schema and codec set. Decoding every Parquet file would fetch its first row
 * group's column chunks (tens of MB each): at thousands of files, the catalogue again.
 */
async function checkCatalogueFiles(config: ReindexConfig, catalogue: Catalogue): Promise<void> {
  const { files } = await catalogue.describe();
  const fields = config.catalogue.fields;
  const required: Array<[MappedField, string]> = [
    ['id', fields.id],
    fields.embedding !== undefined ? ['embedding', fields.embedding] : ['title', fields.title],
  ];
  const decoded = new Set<string>();
  await mapLimit(files, FILE_CHECK_CONCURRENCY, async (file) => {
    if (file.format === 'synthetic') return;
    if (file.format === 'parquet') {
      const columns = await catalogue.parquetColumns(file);
      for (const [logical, name] of required) {
        const column = columns.get(name);
        const where = `Parquet file ${catalogue.store.url}/${file.file}`;
        if (column === undefined) {
          const names = [...columns.keys()];
          throw new PlanError(
            'CATALOGUE_FIELDS_INVALID',
            `catalogue.fields.${logical} is "${name}", but ${where} has no such column; its columns: ${names.slice(0, 20).join(', ')}${names.length > 20 ? ', ...' : ''}`,
          );
        }
        const problem = columnTypeProblem(logical, column);
        if (problem !== undefined) throw new PlanError('CATALOGUE_FIELDS_INVALID', `catalogue.fields.${logical} is "${name}", but in ${where} it ${problem}`);
      }
      const signature = JSON.stringify([...columns]);
      if (decoded.has(signature)) return;
      decoded.add(signature);
    }
    await catalogue.readFileHead(file, 1);
  });
}

type MappedField = 'id' | 'title' | 'embedding';

/** Why a Parquet column cannot hold the mapped field (every row would be rejected), or undefined. */
function columnTypeProblem(field: MappedField, column: ParquetColumnShape): string | undefined {
  const type = `${column.list ? 'LIST<' : ''}${column.logicalType ?? column.physicalType}${column.list ? '>' : ''}`;
  if (field === 'embedding') {
    return column.list && !column.nested && (column.physicalType === 'FLOAT' || column.physicalType === 'DOUBLE')
      ? undefined
      : `is ${column.nested ? 'a struct or map' : type}, not a list of FLOAT or DOUBLE (LIST<FLOAT>, FIXED_SIZE_LIST<FLOAT>)`;
  }
  if (column.list || column.nested) return `is ${column.nested ? 'a struct or map' : type}, not a single value per row`;
  if (column.physicalType === 'BOOLEAN' || column.physicalType === 'INT96')
    return `is ${column.physicalType}, which cannot be read as ${field === 'id' ? 'an id' : 'text'}`;
  if (column.physicalType === 'FIXED_LEN_BYTE_ARRAY' && column.logicalType !== 'DECIMAL' && column.logicalType !== 'UUID')
    return `is raw fixed-length bytes, which cannot be read as ${field === 'id' ? 'an id' : 'text'}`;
  return undefined;
}

/** Rows read at plan time from the first shards: the id kind and the mapped fields are checked on them. */
const PROBE_ROWS = 256;

/** The first rows of the catalogue in plan order (at most PROBE_ROWS), with the number of rows that could not be read. */
async function probeRows(catalogue: Catalogue, plan: ShardPlan): Promise<{ rows: CatalogueRow[]; unreadable: number }> {
  const rows: CatalogueRow[] = [];
  let unreadable = 0;
  for (const shard of plan.shards) {
    const batches = catalogue.readShard(shard, { batchSize: PROBE_ROWS });
    try {
      for await (const batch of batches) {
        rows.push(...batch.rows.slice(0, PROBE_ROWS - rows.length));
        unreadable += batch.rejections.length;
        if (rows.length + unreadable >= PROBE_ROWS) break;
      }
    } finally {
      await batches.return(undefined);
    }
    if (rows.length + unreadable >= PROBE_ROWS) break;
  }
  return { rows, unreadable };
}

/**
 * The build's id kind: the configured one, or (`auto`) the kind of the first id in catalogue
 * order, so that every shard applies the same kind.
 */
function buildIdKind(config: ReindexConfig, probe: { rows: CatalogueRow[] }): { kind: ItemIdKind; source: string } {
  if (config.catalogue.idKind !== 'auto') return { kind: config.catalogue.idKind, source: `catalogue.idKind "${config.catalogue.idKind}"` };
  return decideIdKind(probe.rows, config.catalogue.fields.id) ?? { kind: 'int64', source: `no id in the first ${probe.rows.length} rows (integers assumed)` };
}

/**
 * The dim of the build's vectors: the bundle's; or, for a catalogue of its own vectors planned
 * without a bundle, the length of the first probed row's vector (rows of another length are
 * then counted rejections). With both, the first vector must have the bundle's dim.
 */
function vectorDim(config: ReindexConfig & { catalogue: { url: string } }, bundle: ModelBundle | undefined, probe: { rows: CatalogueRow[] }): number {
  const field = config.catalogue.fields.embedding;
  if (isSyntheticUrl(config.catalogue.url) && !bundle) return parseSyntheticUrl(config.catalogue.url).dim;
  const first = field === undefined ? undefined : probe.rows.find((r) => Array.isArray(r.value[field]) || ArrayBuffer.isView(r.value[field]));
  const firstDim = first === undefined ? undefined : (first.value[field!] as ArrayLike<unknown>).length;
  if (bundle) {
    if (firstDim !== undefined && firstDim !== bundle.manifest.dim) {
      throw new PlanError(
        'CATALOGUE_DIM_MISMATCH',
        `catalogue.fields.embedding "${field}" holds vectors of dim ${firstDim} (${formatLocation(first!.location)}), the model bundle ${bundle.dir} has dim ${bundle.manifest.dim}`,
      );
    }
    return bundle.manifest.dim;
  }
  if (firstDim === undefined || firstDim === 0) {
    throw new PlanError(
      'CATALOGUE_FIELDS_INVALID',
      `catalogue.fields.embedding is "${field}", but none of the first ${probe.rows.length} rows holds a non-empty list of numbers there, so the vectors' dim is unknown`,
    );
  }
  return firstDim;
}

/** Validates `index.quality.queriesUrl` at plan time; returns its sha256 (workers check it). */
async function checkQueryFile(config: ReindexConfig, url: string, dim: number, bundle: ModelBundle | undefined): Promise<string> {
  let bytes: Buffer;
  try {
    bytes = await readObjectAt(url, { s3: config.s3 });
  } catch (cause) {
    throw new PlanError('QUERIES_INVALID', `index.quality.queriesUrl ${url} cannot be read: ${(cause as Error).message}`, { cause });
  }
  const parsed = parseQueryFile(bytes, url, { dim, normalize: config.catalogue.normalizeEmbeddings });
  const text = parsed.entries.find((e) => 'text' in e);
  const problem = text === undefined ? undefined : textQueryProblem(bundle);
  if (problem !== undefined) throw new PlanError('QUERIES_INVALID', `${url}:${text!.line} is a text query, but ${problem}`);
  return parsed.sha256;
}

/**
 * Checks the mapped fields on the probed rows, so a wrong mapping fails at plan time with the
 * field named instead of after an hour of embedding: the title (or the vector column) must be
 * present in some row, and not every row may be rejected for the same field.
 */
async function checkMappedFields(config: ReindexConfig, dim: number, bundle: ModelBundle | undefined, probe: { rows: CatalogueRow[] }): Promise<void> {
  const { rows } = probe;
  if (rows.length === 0) return;
  const fields = config.catalogue.fields;
  const where = `the first ${rows.length} rows (from ${formatLocation(rows[0]!.location)})`;
  const seen = [...new Set(rows.flatMap((r) => Object.keys(r.value)))];
  const seenText = `fields seen: ${seen.slice(0, 20).join(', ')}${seen.length > 20 ? ', ...' : ''}`;
  const required: Array<[string, string]> = fields.embedding !== undefined ? [['embedding', fields.embedding]] : [['title', fields.title]];
  required.push(['id', fields.id]);
  for (const [logical, source] of required) {
    if (!rows.some((r) => r.value[source] !== undefined && r.value[source] !== null)) {
      throw new PlanError('CATALOGUE_FIELDS_INVALID', `catalogue.fields.${logical} is "${source}", but none of ${where} has it; ${seenText}`);
    }
  }
  // The ids are checked by the shards (kind, duplicates); the embedder sees a placeholder.
  const records = rows.map((r) => ({ ...r.value, [fields.id]: 0 }));
  const embedder =
    fields.embedding !== undefined
      ? new PrecomputedEmbedder({ dim, idField: fields.id, embeddingField: fields.embedding, normalize: config.catalogue.normalizeEmbeddings })
      : undefined;
  const featurizer = embedder ? undefined : new Featurizer(bundle!.manifest.item.features, { ...fields });
  const rejections = embedder
    ? (await embedder.embed(records)).rejections
    : records.map((record) => featurizer!.featurizeOne(record)).filter((r): r is Rejection => !(r instanceof FeatureBatch));
  if (rejections.length < rows.length) return;
  const byField = new Map<string, Rejection[]>();
  for (const r of rejections) byField.set(r.field ?? r.reason, [...(byField.get(r.field ?? r.reason) ?? []), r]);
  const [field, examples] = [...byField].sort((a, b) => b[1].length - a[1].length)[0]!;
  throw new PlanError(
    'CATALOGUE_FIELDS_INVALID',
    `every one of ${where} is rejected, ${examples.length} for field "${field}" (${examples[0]!.message}); check catalogue.fields`,
  );
}
