/**
 * Catalogues that carry their own vectors (`catalogue.fields.embedding`: computed in Spark, by
 * another team's model, or generated for a scale run): no item tower runs, each row's vector is
 * checked and copied. The result has the shape of {@link ItemEmbedder.embed}'s, so the shard and
 * train jobs do not care which one they hold.
 */
import { WRONG_TYPE, coerceItemId, describeValue } from './coerce.js';
import { ItemTowerError } from './errors.js';
import { fieldReader, idRejection, type FieldReader, type Rejection } from './featurizer.js';
import type { EmbedderStats, EmbeddingBatch } from './item-embedder.js';

/** What the shard and train jobs need of an embedder: {@link ItemEmbedder} or {@link PrecomputedEmbedder}. */
export interface Embedder {
  readonly dim: number;
  readonly stats: EmbedderStats;
  embed(records: readonly unknown[]): Promise<EmbeddingBatch>;
  close(): Promise<void>;
}

export interface PrecomputedEmbedderOptions {
  /** Vector length every row must have. */
  dim: number;
  /** Source field of the item id. */
  idField: string;
  /** Source field of the vector: a list of numbers (JSON array, Parquet LIST<FLOAT>) or a Float32Array. */
  embeddingField: string;
  /** Scale each vector to unit length (inner-product indexes of cosine-trained models want it). */
  normalize: boolean;
}

export class PrecomputedEmbedder implements Embedder {
  readonly stats: EmbedderStats = { batches: 0, itemsEmbedded: 0, itemsRejected: 0, featurizeMs: 0, inferenceMs: 0 };
  readonly #readId: FieldReader;
  readonly #readVector: FieldReader;

  constructor(readonly options: Readonly<PrecomputedEmbedderOptions>) {
    if (!Number.isSafeInteger(options.dim) || options.dim < 1) {
      throw new ItemTowerError('INVALID_OPTION', `PrecomputedEmbedder option dim must be a positive integer (got ${JSON.stringify(options.dim)})`);
    }
    this.#readId = fieldReader(options.idField);
    this.#readVector = fieldReader(options.embeddingField);
  }

  get dim(): number {
    return this.options.dim;
  }

  /** Copies every acceptable row's vector; rows without a usable id or vector become rejections. */
  embed(records: readonly unknown[]): Promise<EmbeddingBatch> {
    const started = performance.now();
    const { dim, idField, embeddingField, normalize } = this.options;
    const vectors = new Float32Array(records.length * dim);
    const ids = new BigInt64Array(records.length);
    const rejections: Rejection[] = [];
    let n = 0;
    for (let index = 0; index < records.length; index++) {
      const record = records[index];
      if (typeof record !== 'object' || record === null || Array.isArray(record)) {
        rejections.push({ index, itemId: null, reason: 'not-an-object', field: null, message: `record is ${describeValue(record)}, not an object` });
        continue;
      }
      const r = record as Record<string, unknown>;
      const rawId = this.#readId(r);
      const id = coerceItemId(rawId);
      if (id === null || id === WRONG_TYPE) {
        rejections.push({ ...idRejection(idField, rawId, id), index });
        continue;
      }
      const problem = copyVector(this.#readVector(r), vectors, n * dim, dim, normalize);
      if (problem !== null) {
        const missing = problem === MISSING;
        rejections.push({
          index,
          itemId: String(id),
          reason: missing ? 'missing-embedding' : 'invalid-embedding',
          field: embeddingField,
          message: missing ? `field "${embeddingField}" is missing` : `field "${embeddingField}" ${problem}`,
        });
        continue;
      }
      ids[n++] = BigInt(id);
    }
    this.stats.batches++;
    this.stats.itemsEmbedded += n;
    this.stats.itemsRejected += rejections.length;
    const featurizeMs = performance.now() - started;
    this.stats.featurizeMs += featurizeMs;
    return Promise.resolve({ ids: ids.slice(0, n), vectors: vectors.slice(0, n * dim), dim, rejections, featurizeMs, inferenceMs: 0 });
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

const MISSING = 'missing';

/** Copies `value` into `out[offset..offset+dim)`; returns null, {@link MISSING}, or what is wrong with it. */
function copyVector(value: unknown, out: Float32Array, offset: number, dim: number, normalize: boolean): string | null {
  if (value === undefined || value === null) return MISSING;
  const list = value as ArrayLike<unknown>;
  const isList =
    Array.isArray(value) ||
    (ArrayBuffer.isView(value) && !(value instanceof DataView) && !(value instanceof BigInt64Array) && !(value instanceof BigUint64Array));
  if (!isList) return `is ${describeValue(value)}, not a list of ${dim} numbers`;
  if (list.length !== dim) return `has ${list.length} values, the index has dim ${dim}`;
  let sumSquares = 0;
  for (let d = 0; d < dim; d++) {
    const x = list[d];
    if (typeof x !== 'number' || !Number.isFinite(x))
      return `has ${typeof x === 'number' ? String(x) : describeValue(x)} at position ${d}, not a finite number`;
    out[offset + d] = x;
    sumSquares += x * x;
  }
  // Float32 can overflow where the float64 inputs did not (e.g. 1e39).
  for (let d = 0; d < dim; d++) if (!Number.isFinite(out[offset + d]!)) return `has ${String(list[d])} at position ${d}, outside float32's range`;
  if (normalize) {
    if (sumSquares === 0) return 'is all zeros, which cannot be normalised';
    const scale = 1 / Math.sqrt(sumSquares);
    for (let d = 0; d < dim; d++) out[offset + d] = out[offset + d]! * scale;
  }
  return null;
}
