/**
 * Batched, pipelined item embedding: records → featurize (main thread) → item tower (inference
 * worker) → checked unit vectors. While the worker computes batch n, the main thread featurizes
 * batch n+1, so featurization hides behind inference instead of adding to it.
 */
import type { ModelBundle } from './bundle.js';
import { loadBundle } from './bundle.js';
import type { FieldMapping, Rejection } from './featurizer.js';
import { Featurizer } from './featurizer.js';
import type { FeatureBatch } from './feature-batch.js';
import { compareModelIo, expectedItemIo } from './model-io.js';
import type { SessionOptions } from './session-options.js';
import { SESSION_DEFAULTS } from './session-options.js';
import { WorkerSession, nonFiniteRows } from './worker-session.js';
import type { WorkerFeed } from './worker-protocol.js';
import { BundleMismatchError, EmbeddingValidationError, ItemTowerError } from './errors.js';

export interface ItemEmbedderOptions extends SessionOptions {
  /**
   * Items per onnxruntime run. Default 256: on CPU, throughput is flat from ~128 up (per-run
   * overhead amortized, activations still in cache); much larger only adds latency and memory.
   * On CUDA use 1024-4096.
   */
  batchSize: number;
  /**
   * Batches submitted to the worker and not yet returned. Default 2: one computing, one
   * featurized and waiting, which is all the overlap there is to get; more only holds memory.
   */
  maxBatchesInFlight: number;
  /** Source field names of the logical fields (id, title, ...). Default: identical names. */
  fieldMapping: Partial<FieldMapping>;
}

export const ITEM_EMBEDDER_DEFAULTS: Readonly<ItemEmbedderOptions> = Object.freeze({
  ...SESSION_DEFAULTS,
  batchSize: 256,
  maxBatchesInFlight: 2,
  fieldMapping: {},
});

/** Embeddings of the accepted items of some records. */
export interface EmbeddingBatch {
  /** Accepted items' ids, in input order. */
  ids: BigInt64Array;
  /** `ids.length × dim` row-major unit vectors (for the reference and normalised bundles). */
  vectors: Float32Array;
  dim: number;
  /** Records not embedded, with `index` relative to the records of this batch. */
  rejections: Rejection[];
  /** Time this call spent turning records into model inputs (or copying vectors), on the calling thread. */
  featurizeMs?: number;
  /** Time onnxruntime spent in `session.run` for this call (in the inference worker; overlaps featurization). */
  inferenceMs?: number;
}

/** Running totals, e.g. for worker metrics and the benchmark. */
export interface EmbedderStats {
  batches: number;
  itemsEmbedded: number;
  itemsRejected: number;
  /** Time in featurization on the main thread. */
  featurizeMs: number;
  /** Time onnxruntime spent in `session.run` (in the worker). */
  inferenceMs: number;
}

export class ItemEmbedder {
  readonly stats: EmbedderStats = { batches: 0, itemsEmbedded: 0, itemsRejected: 0, featurizeMs: 0, inferenceMs: 0 };
  private readonly featurizer: Featurizer;
  private readonly batch: FeatureBatch;

  private constructor(
    readonly bundle: ModelBundle,
    private readonly session: WorkerSession,
    readonly options: Readonly<ItemEmbedderOptions>,
  ) {
    this.featurizer = new Featurizer(bundle.manifest.item.features, options.fieldMapping);
    this.batch = this.featurizer.createBatch(options.batchSize);
  }

  /**
   * Opens the bundle's item tower and checks its inputs/outputs against bundle.json; fails with
   * `BUNDLE_MODEL_MISMATCH` naming every mismatch, before any item is read.
   */
  static async create(bundle: ModelBundle | string, options: Partial<ItemEmbedderOptions> = {}): Promise<ItemEmbedder> {
    const o: ItemEmbedderOptions = { ...ITEM_EMBEDDER_DEFAULTS, ...options };
    for (const key of ['batchSize', 'maxBatchesInFlight'] as const) {
      if (!Number.isInteger(o[key]) || o[key] < 1) {
        throw new ItemTowerError('INVALID_OPTION', `ItemEmbedder option ${key} must be a positive integer (got ${JSON.stringify(o[key])})`);
      }
    }
    if (!Number.isInteger(o.intraOpThreads) || o.intraOpThreads < 0) {
      throw new ItemTowerError('INVALID_OPTION', `ItemEmbedder option intraOpThreads must be an integer ≥ 0 (got ${JSON.stringify(o.intraOpThreads)})`);
    }
    const b = typeof bundle === 'string' ? await loadBundle(bundle) : bundle;
    const session = await WorkerSession.open(b.itemModelPath, o);
    const problems = compareModelIo(expectedItemIo(b.manifest), session);
    if (problems.length > 0) {
      await session.close();
      throw new BundleMismatchError(b.itemModelPath, problems);
    }
    return new ItemEmbedder(b, session, o);
  }

  get dim(): number {
    return this.bundle.manifest.dim;
  }

  /** Execution provider in use ('cpu' after a CUDA fallback). */
  get provider(): string {
    return this.session.provider;
  }

  /** Embeds any number of records (pipelined in batches) into one result. */
  async embed(records: readonly unknown[]): Promise<EmbeddingBatch> {
    const parts: EmbeddingBatch[] = [];
    const size = this.options.batchSize;
    const chunks = (function* () {
      for (let i = 0; i < records.length; i += size) yield records.slice(i, i + size);
    })();
    for await (const part of this.embedBatches(chunks)) parts.push(part);
    return concat(parts, this.dim, size);
  }

  /**
   * Embeds a stream of records, yielding one result per `batchSize` records (the last may be
   * smaller), in order. Rejection indices are relative to each yielded batch's records.
   */
  async *embedStream(records: Iterable<unknown> | AsyncIterable<unknown>): AsyncGenerator<EmbeddingBatch> {
    const size = this.options.batchSize;
    async function* chunks(): AsyncGenerator<unknown[]> {
      let chunk: unknown[] = [];
      for await (const r of records) {
        chunk.push(r);
        if (chunk.length === size) {
          yield chunk;
          chunk = [];
        }
      }
      if (chunk.length > 0) yield chunk;
    }
    yield* this.embedBatches(chunks());
  }

  /**
   * Embeds pre-chunked records, yielding one result per chunk, in order, with up to
   * `maxBatchesInFlight` chunks in the worker. Chunks larger than `batchSize` run as several
   * onnxruntime batches but still yield one result.
   */
  async *embedBatches(chunks: Iterable<readonly unknown[]> | AsyncIterable<readonly unknown[]>): AsyncGenerator<EmbeddingBatch> {
    const inFlight: Promise<EmbeddingBatch>[] = [];
    try {
      for await (const chunk of chunks) {
        const job = this.submit(chunk);
        // Observed now so a failure while earlier batches are awaited is not "unhandled";
        // it is still thrown when this batch's turn comes.
        job.catch(() => undefined);
        inFlight.push(job);
        if (inFlight.length >= this.options.maxBatchesInFlight) yield await inFlight.shift()!;
      }
      while (inFlight.length > 0) yield await inFlight.shift()!;
    } finally {
      inFlight.length = 0;
    }
  }

  /** Featurizes `records` now (synchronously) and queues their inference. */
  private submit(records: readonly unknown[]): Promise<EmbeddingBatch> {
    const started = performance.now();
    const rejections: Rejection[] = [];
    const parts: Promise<EmbeddingBatch>[] = [];
    let start = 0;
    do {
      const consumed = this.featurizer.featurizeInto(records, start, this.batch, rejections);
      parts.push(this.infer(this.batch));
      start += consumed;
    } while (start < records.length);
    const featurizeMs = performance.now() - started;
    this.stats.featurizeMs += featurizeMs;
    this.stats.itemsRejected += rejections.length;
    return Promise.all(parts).then((done) => ({ ...concat(done, this.dim, 0), rejections, featurizeMs }));
  }

  /** Copies the filled rows of `batch` out (the batch is refilled next) and runs them. */
  private infer(batch: FeatureBatch): Promise<EmbeddingBatch> {
    const n = batch.count;
    const ids = batch.ids().slice();
    const dim = this.dim;
    if (n === 0) return Promise.resolve({ ids, vectors: new Float32Array(0), dim, rejections: [] });
    const feeds: WorkerFeed[] = batch.tensors.map((t) => ({
      name: t.name,
      dtype: t.dtype,
      dims: [n, t.width],
      data: t.data.slice(0, n * t.width),
    }));
    return this.session.run(feeds, this.bundle.manifest.item.output).then((r) => {
      this.stats.inferenceMs += r.inferenceMs;
      if (r.dims.length !== 2 || r.dims[0] !== n || r.dims[1] !== dim) {
        throw new EmbeddingValidationError(
          `${this.bundle.itemModelPath} returned shape [${r.dims.join(', ')}] for ${n} items, expected [${n}, ${dim}]; items ${preview(ids)}`,
          [...ids],
        );
      }
      const badRows = nonFiniteRows(r.data, n);
      if (badRows.length > 0) {
        const bad = badRows.map((row) => ids[row] as bigint);
        throw new EmbeddingValidationError(`${this.bundle.itemModelPath} produced NaN/Inf embeddings for ${bad.length} of ${n} items: ${preview(bad)}`, bad);
      }
      this.stats.batches++;
      this.stats.itemsEmbedded += n;
      return { ids, vectors: r.data, dim, rejections: [], inferenceMs: r.inferenceMs };
    });
  }

  /** Stops the inference worker. Idempotent. */
  async close(): Promise<void> {
    await this.session.close();
  }
}

function preview(ids: ArrayLike<bigint>): string {
  const shown = Array.from({ length: Math.min(ids.length, 10) }, (_, i) => String(ids[i]));
  return ids.length > 10 ? `${shown.join(', ')}, ... (${ids.length} in all)` : shown.join(', ');
}

/** Concatenates results; `indexStride` shifts rejection indices of successive parts. */
function concat(parts: EmbeddingBatch[], dim: number, indexStride: number): EmbeddingBatch {
  if (parts.length === 1) return parts[0]!;
  let n = 0;
  for (const p of parts) n += p.ids.length;
  const ids = new BigInt64Array(n);
  const vectors = new Float32Array(n * dim);
  const rejections: Rejection[] = [];
  let at = 0;
  let featurizeMs = 0;
  let inferenceMs = 0;
  parts.forEach((p, k) => {
    featurizeMs += p.featurizeMs ?? 0;
    inferenceMs += p.inferenceMs ?? 0;
    ids.set(p.ids, at);
    vectors.set(p.vectors, at * dim);
    at += p.ids.length;
    for (const r of p.rejections) rejections.push({ ...r, index: r.index + k * indexStride });
  });
  return { ids, vectors, dim, rejections, featurizeMs, inferenceMs };
}
