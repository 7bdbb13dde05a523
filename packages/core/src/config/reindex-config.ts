import type { ItemIdKind } from '../ids/item-id.js';
import type { S3Options } from '../store/s3-options.js';

/** What a build does with an id that appears more than once (see `catalogue.duplicateIds`). */
export type DuplicateIdPolicy = 'reject' | 'keep-last' | 'fail';

/** Where each logical item field is found in a catalogue row (source column / JSON key). */
export interface FieldMapping {
  /** Item id (integer or string). Default `"id"`. */
  id: string;
  /** Default `"title"`. */
  title: string;
  /** Default `"category"`. */
  category: string;
  /** Default `"brand"`. */
  brand: string;
  /** Default `"shop"`. */
  shop: string;
  /** Default `"price"`. */
  price: string;
  /**
   * A column of precomputed item vectors (a list of numbers of the model's dim). When set, the
   * item tower is not run: each row's vector is indexed as it is (see `catalogue.normalizeEmbeddings`).
   * Default: absent (the item tower embeds every row).
   */
  embedding?: string;
}

/** Index structure and the budget it must fit. */
export interface IndexConfig {
  /**
   * faiss factory string, e.g. `IVF4096,PQ32`. Default: absent, chosen by chooseIndexParams from
   * the item count, dim and servingMemoryBytes.
   */
  factory?: string;
  /** `ip` (inner product on L2-normalised vectors, i.e. cosine) or `l2`. Default `ip`. */
  metric: 'ip' | 'l2';
  /** Inverted lists probed per query. Default: absent, chosen by the quality stage for recall. */
  nprobe?: number;
  /**
   * A fixed training sample size. Default: absent = the rule's, nlist × trainPointsPerCentroid
   * bounded by maxTrainSampleSize and the builder budget. Too small caps nlist (>= 39 points
   * per centroid) and gives noisy codebooks; too large makes training slow with little gain
   * past ~256 points per centroid.
   */
  trainSampleSize?: number;
  /**
   * Training points per coarse centroid when the rule sizes the sample. Default 50 (faiss
   * warns below 39 and subsamples above 256). More costs sampling, embedding and k-means time
   * in proportion, for slightly better balanced lists.
   */
  trainPointsPerCentroid: number;
  /**
   * Largest training sample the rule draws. Default 4,000,000 (2 GB of 128-d vectors), which
   * allows nlist 65,536 at 61 points per centroid; past it nlist is capped. Raise it (with
   * builderMemoryBytes) for 131,072+ lists at billions of items.
   */
  maxTrainSampleSize: number;
  /**
   * What a serving host gives the populated index (codes + ids + centroids + graph), in bytes:
   * the manifest's promise to the fleet. Default 64 GiB. Decides the PQ code size: larger
   * budgets allow more bytes per vector and better recall; too small fails the plan with
   * INDEX_BUDGET_TOO_SMALL.
   */
  servingMemoryBytes: number;
  /**
   * What one train or merge job may hold in RAM, in bytes. Default 16 GiB. The training sample
   * (three copies at its peak) may take half of it; the merge runs in memory when the merged
   * index fits it, on disk (one data file, flat memory) beyond.
   */
  builderMemoryBytes: number;
  /** The quality report and publish gate (measured after the merge). */
  quality: QualityConfig;
}

/**
 * The quality stage measures the merged index against exact search on held-out queries, picks
 * nprobe, and gates the publish. A failed gate leaves LATEST untouched unless `--force`.
 */
export interface QualityConfig {
  /**
   * Held-out queries (a uniform sample of the catalogue, drawn with a seed other than
   * training's). Default 1,000. Too few make recall noisy (±1.4 points at 0.95 with 1,000);
   * too many cost each shard an exact search of every query against each of its batches.
   */
  queries: number;
  /**
   * Gate: the chosen nprobe must reach this recall@10 (fraction of queries whose exact nearest
   * neighbour is in the ANN top 10, faiss's "1-recall@10"). Default 0.95.
   */
  targetRecallAt10: number;
  /**
   * Gate: mean single-query search time (one query per call, k = 10) the chosen nprobe may take,
   * in milliseconds. Default 5. Larger nprobe values are not considered.
   */
  latencyBudgetMs: number;
  /**
   * Highest nprobe the sweep tries. Default: absent = nlist. A serving fleet that cannot afford
   * more lists caps it here; too small a cap fails the recall gate.
   */
  maxNprobe?: number;
  /**
   * A JSON-lines file of the shop's own queries (local path or s3:// URL) to measure with instead
   * of held-out items: one `{"vector": [numbers]}` (dim numbers; scaled to unit length when
   * `catalogue.normalizeEmbeddings`) or `{"query": "text"}` (encoded by the bundle's query tower,
   * which must fuse linearly) per line. Validated at plan time. Default: absent (held-out items).
   */
  queriesUrl?: string;
  /** Gate: the item count may drop at most this fraction against the current LATEST. Default 0.1. */
  maxItemDropFraction: number;
  /** Gate: rejected rows may be at most this fraction of the catalogue rows read. Default 0.05. */
  maxRejectedFraction: number;
}

/** Complete configuration of a build. Every field has a default in DEFAULT_CONFIG unless optional. */
export interface ReindexConfig {
  /** Index name: artifacts go to `indexes/<name>/`. Default `"catalogue"`. */
  name: string;
  catalogue: {
    /** Catalogue URL (local path, file://, s3://). Default: absent = the bundled sample catalogue. */
    url?: string;
    /** Field mapping. Default: every logical name maps to a field of the same name. */
    fields: FieldMapping;
    /** With `fields.embedding`: scale each row's vector to unit length before indexing. Default false (vectors are indexed as given). */
    normalizeEmbeddings: boolean;
    /**
     * How item ids become faiss ids: `int64` (JSON numbers, Parquet integers: used as they are),
     * `string` (every id a string, digits or not: hashed, published in `idmap.jsonl`), or `auto`:
     * the kind of the first row's id, decided at plan time and recorded in the build. A row whose
     * id is of the other kind is rejected (`id-mixed-kinds`). Default `auto`.
     */
    idKind: 'auto' | ItemIdKind;
    /**
     * What to do with an id that appears more than once anywhere in the catalogue (any shards):
     * `reject` every copy, keep the `keep-last` copy in catalogue order (file order, then row
     * order), or `fail` the build. Every rejected copy is counted and reported with its location.
     * Default `reject`.
     */
    duplicateIds: DuplicateIdPolicy;
  };
  store: {
    /** Object store root for builds and published indexes. Default `"var/store"` (relative to the working directory). */
    url: string;
  };
  /** `redis://` URL of the queue. Default: absent = a private embedded redis-server. */
  redisUrl?: string;
  /** Model bundle directory or object-store prefix. Default: absent = the reference bundle. */
  modelDir?: string;
  index: IndexConfig;
  /** Shards the catalogue is split into (one shard job each). Default 8. */
  shardCount: number;
  /** In-process workers of `reindex`; 0 = only remote workers consume the queues. Default: absent = one per core. */
  workers?: number;
  /** Published versions kept per index name; older ones are deleted after publish. Default 3. */
  keepVersions: number;
  /**
   * `"auto"`: when LATEST was built with the same model bundle, feature columns, index factory,
   * metric and dim, and its files verify, reuse its trained index and embed only the items that
   * are new or changed (see README "Incremental builds"); otherwise a full build, saying why.
   * `"off"`: always a full build. Default `"off"` (`reindex --incremental` / `--full` per run).
   */
  incremental: 'off' | 'auto';
  /** Options for every s3:// URL (store, catalogue, model). Default: none (AWS defaults). */
  s3: S3Options;
  /**
   * The nightly schedule `reindex schedule` runs: a cron expression (5 fields, or 6 with
   * seconds) in an IANA time zone. Default: absent (no schedule; run `reindex` from cron).
   */
  schedule?: { cron: string; timeZone: string };
}

/** The one place defaults live; loadConfig spreads it, the tests and README check it. */
export const DEFAULT_CONFIG = {
  name: 'catalogue',
  catalogue: {
    fields: { id: 'id', title: 'title', category: 'category', brand: 'brand', shop: 'shop', price: 'price' },
    normalizeEmbeddings: false,
    idKind: 'auto',
    duplicateIds: 'reject',
  },
  store: { url: 'var/store' },
  index: {
    metric: 'ip',
    trainPointsPerCentroid: 50,
    maxTrainSampleSize: 4_000_000,
    servingMemoryBytes: 64 * 1024 ** 3,
    builderMemoryBytes: 16 * 1024 ** 3,
    quality: {
      queries: 1000,
      targetRecallAt10: 0.95,
      latencyBudgetMs: 5,
      maxItemDropFraction: 0.1,
      maxRejectedFraction: 0.05,
    },
  },
  shardCount: 8,
  keepVersions: 3,
  incremental: 'off',
  s3: {},
} as const satisfies ReindexConfig;

/** Partial config as written in a file or given as overrides (CLI flags). */
export type ReindexConfigInput = DeepPartial<ReindexConfig>;

export type DeepPartial<T> = { [K in keyof T]?: T[K] extends object ? DeepPartial<T[K]> : T[K] };
