import type { S3Options } from '../store/s3-options.js';

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
}

/** Index structure and the budget it must fit. */
export interface IndexConfig {
  /**
   * faiss factory string, e.g. `IVF4096,PQ32`. Default: absent, chosen by chooseIndexParams from
   * the item count, dim and memoryBudgetBytes.
   */
  factory?: string;
  /** `ip` (inner product on L2-normalised vectors, i.e. cosine) or `l2`. Default `ip`. */
  metric: 'ip' | 'l2';
  /** Inverted lists probed per query. Default: absent, chosen by the quality stage for recall. */
  nprobe?: number;
  /**
   * Rows sampled to train the coarse quantizer and PQ codebooks. Default 100,000. Too small caps
   * nlist (>= 39 points per centroid) and gives noisy codebooks; too large makes training slow
   * with little gain past ~256 points per centroid.
   */
  trainSampleSize: number;
  /**
   * Memory the serving index may take (codes + ids + centroids). Default 4 GiB. Decides the PQ
   * code size: larger budgets allow more bytes per vector and better recall.
   */
  memoryBudgetBytes: number;
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
  /** In-process workers; 0 = only remote workers consume the queues. Default 2. */
  workers: number;
  /** Published versions kept per index name; older ones are deleted after publish. Default 3. */
  keepVersions: number;
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
  },
  store: { url: 'var/store' },
  index: {
    metric: 'ip',
    trainSampleSize: 100_000,
    memoryBudgetBytes: 4 * 1024 ** 3,
  },
  shardCount: 8,
  workers: 2,
  keepVersions: 3,
  s3: {},
} as const satisfies ReindexConfig;

/** Partial config as written in a file or given as overrides (CLI flags). */
export type ReindexConfigInput = DeepPartial<ReindexConfig>;

export type DeepPartial<T> = { [K in keyof T]?: T[K] extends object ? DeepPartial<T[K]> : T[K] };
