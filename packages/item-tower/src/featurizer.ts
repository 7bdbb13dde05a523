/**
 * Catalogue record → input tensors, per a bundle's feature spec. Featurizing never throws for
 * bad data: items that cannot be used are returned as rejections and the batch goes on.
 */
import type { CategoricalFeatureSpec, FeatureSpec } from './feature-spec.js';
import { FeatureBatch } from './feature-batch.js';
import { TextTokenizer } from './text-tokenizer.js';
import type { RejectionReason } from './coerce.js';
import { WRONG_TYPE, coerceCategorical, coerceItemId, coerceNumber, coerceText, describeValue } from './coerce.js';

/** Source field name for each logical field the spec uses, plus `id`. */
export type FieldMapping = Record<string, string>;

/** Default mapping: every logical field is read from the source field of the same name. */
export const DEFAULT_FIELD_MAPPING: Readonly<FieldMapping> = Object.freeze({
  id: 'id',
  title: 'title',
  category: 'category',
  brand: 'brand',
  shop: 'shop',
  price: 'price',
});

/** An item that was not embedded, and why. */
export interface Rejection {
  /** Position of the record in the input given to `featurize`. */
  index: number;
  /** The item's id as found in the record (stringified), or null when it has none. */
  itemId: string | null;
  reason: RejectionReason;
  /** Source field at fault, or null (for `not-an-object`). */
  field: string | null;
  /** Human-readable detail naming the field and (a prefix of) the offending value. */
  message: string;
}

/** The rejection of a record whose id (`rawId`, coerced to `coerced`) is missing or not an int64. */
export function idRejection(idField: string, rawId: unknown, coerced: null | typeof WRONG_TYPE): Rejection {
  const missing = coerced === null;
  return {
    index: -1,
    itemId: missing ? null : describeValue(rawId),
    reason: missing ? 'missing-id' : 'invalid-id',
    field: idField,
    message: missing ? `field "${idField}" is missing` : `field "${idField}" is ${describeValue(rawId)}, not a non-negative int64 integer`,
  };
}

const TWO_32 = 4294967296;
/** Distinct values remembered per categorical feature (about 100 bytes each). */
const CATEGORY_CACHE_ENTRIES = 50_000;

export class Featurizer {
  readonly features: readonly FeatureSpec[];
  private readonly sourceField: readonly string[];
  private readonly idField: string;
  /** `record => record[name]` per feature, see `fieldReader`. */
  private readonly readField: readonly FieldReader[];
  private readonly readId: FieldReader;
  private readonly tokenizer = new TextTokenizer();
  private scratch = new Int32Array(64);
  private readonly categoryCaches: (Map<string, Int32Array> | undefined)[] = [];

  constructor(features: readonly FeatureSpec[], fieldMapping: Partial<FieldMapping> = {}) {
    const mapping: Record<string, string | undefined> = { ...DEFAULT_FIELD_MAPPING, ...fieldMapping };
    this.features = features;
    this.idField = mapping.id ?? 'id';
    this.sourceField = features.map((f) => mapping[f.field] ?? f.field);
    this.readField = this.sourceField.map(fieldReader);
    this.readId = fieldReader(this.idField);
  }

  /** Allocates a batch whose tensors match this featurizer's spec. */
  createBatch(capacity: number): FeatureBatch {
    return new FeatureBatch(capacity, this.features);
  }

  /**
   * Fills `batch` from `records[start..]` until the batch is full or the records end; accepted
   * items take rows `[0, batch.count)`. Returns how many records were consumed (accepted or
   * rejected) and pushes the rejected ones onto `rejections`.
   */
  featurizeInto(records: readonly unknown[], start: number, batch: FeatureBatch, rejections: Rejection[]): number {
    batch.count = 0;
    let i = start;
    for (; i < records.length && batch.count < batch.capacity; i++) {
      const rejection = this.writeRow(records[i], batch, batch.count);
      if (rejection === null) {
        batch.count++;
      } else {
        rejection.index = i;
        rejections.push(rejection);
      }
    }
    return i - start;
  }

  /** Writes one record into row `row`; returns null on success or the rejection. */
  private writeRow(record: unknown, batch: FeatureBatch, row: number): Rejection | null {
    if (typeof record !== 'object' || record === null || Array.isArray(record)) {
      return { index: -1, itemId: null, reason: 'not-an-object', field: null, message: `record is ${describeValue(record)}, not an object` };
    }
    const r = record as Record<string, unknown>;
    const rawId = this.readId(r);
    const id = coerceItemId(rawId);
    if (id === null || id === WRONG_TYPE) return idRejection(this.idField, rawId, id);
    const tensors = batch.tensors;
    let t = 0;
    for (let f = 0; f < this.features.length; f++) {
      const spec = this.features[f] as FeatureSpec;
      const field = this.sourceField[f] as string;
      const raw = this.readField[f]!(r);
      const tensor = tensors[t++]!;
      const width = tensor.width;
      if (this.scratch.length < width) this.scratch = new Int32Array(width);
      const ids = this.scratch;
      let n = 0;
      if (spec.kind === 'text') {
        const text = coerceText(raw);
        if (text === WRONG_TYPE) return wrongType(rawId, field, raw, 'text');
        if (text !== null && text !== '') n = this.tokenizer.hashTokens(text, spec, ids, 0);
        const mask = tensors[t++]!.data as Float32Array;
        const base = row * width;
        mask.fill(1, base, base + n);
        mask.fill(0, base + n, base + width);
      } else if (spec.kind === 'categorical') {
        const value = coerceCategorical(raw, spec.pathSeparator);
        if (value === WRONG_TYPE) return wrongType(rawId, field, raw, spec.pathSeparator === null ? 'text' : 'a path string or array');
        if (value !== null && value !== '') n = this.categoricalIds(f, value, ids);
      } else {
        const value = coerceNumber(raw);
        if (value === WRONG_TYPE) return wrongType(rawId, field, raw, 'a number');
        if (value !== null) {
          ids[0] = bucketize(spec.boundaries, value);
          n = 1;
        }
      }
      writeIds(tensor, row, ids, n);
    }
    writeItemId(batch, row, id);
    return null;
  }

  /**
   * Ids of a categorical value, memoized: categories, brands and shops repeat across millions of
   * items, and normalizing + hashing them is a third of featurization. The cache holds raw values
   * (results are identical with or without it) and is cleared when full, bounding memory.
   */
  private categoricalIds(featureIndex: number, value: string, ids: Int32Array): number {
    const spec = this.features[featureIndex] as CategoricalFeatureSpec;
    let cache = this.categoryCaches[featureIndex];
    if (cache === undefined) cache = this.categoryCaches[featureIndex] = new Map();
    const hit = cache.get(value);
    if (hit !== undefined) {
      const n = hit.length;
      for (let k = 0; k < n; k++) ids[k] = hit[k] as number;
      return n;
    }
    const n = this.tokenizer.hashCategorical(value, spec.pathSeparator, spec.seed, spec.buckets, ids, 0, spec.maxDepth);
    if (cache.size >= CATEGORY_CACHE_ENTRIES) cache.clear();
    cache.set(value, ids.slice(0, n));
    return n;
  }

  /** Featurizes one record into a fresh single-row batch (tests, debugging, tools). */
  featurizeOne(record: unknown): FeatureBatch | Rejection {
    const batch = this.createBatch(1);
    const rejections: Rejection[] = [];
    this.featurizeInto([record], 0, batch, rejections);
    return rejections[0] ?? batch;
  }

  /** The tokens a text value yields under a text feature (for golden tests and docs). */
  tokens(text: string, spec: FeatureSpec & { kind: 'text' }): string[] {
    return this.tokenizer.tokens(text, spec);
  }
}

function wrongType(rawId: unknown, field: string, raw: unknown, expected: string): Rejection {
  return {
    index: -1,
    itemId: describeValue(rawId),
    reason: 'wrong-type',
    field,
    message: `field "${field}" is ${describeValue(raw)}; expected ${expected}`,
  };
}

/** 0 is reserved for missing; values below the first boundary are bucket 1. */
export function bucketize(boundaries: readonly number[], value: number): number {
  let lo = 0;
  let hi = boundaries.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((boundaries[mid] as number) <= value) lo = mid + 1;
    else hi = mid;
  }
  return lo + 1;
}

/**
 * Writes ids `ids[0, n)` into row `row` and zeroes the rest of the row. int64 tensors get the
 * low words only: ids are < 2^31 and nothing ever writes a high word, so those stay 0 from
 * allocation.
 */
function writeIds(tensor: { dtype: string; width: number; words: Int32Array | null }, row: number, ids: Int32Array, n: number): void {
  const words = tensor.words!;
  const width = tensor.width;
  if (tensor.dtype === 'int64') {
    let w = row * width * 2;
    for (let k = 0; k < n; k++, w += 2) words[w] = ids[k] as number;
    for (let k = n; k < width; k++, w += 2) words[w] = 0;
  } else {
    const base = row * width;
    for (let k = 0; k < n; k++) words[base + k] = ids[k] as number;
    words.fill(0, base + n, base + width);
  }
}

export type FieldReader = (record: Record<string, unknown>) => unknown;

/**
 * A reader of one named field. Why generated: one `record[name]` site that sees every field name
 * goes megamorphic in V8 (a hash probe per read); a function per name keeps each read site
 * monomorphic over the catalogue's record shape, which is a tenth of featurization time.
 * `JSON.stringify` makes any name a safe string literal.
 */
export function fieldReader(name: string): FieldReader {
  // eslint-disable-next-line @typescript-eslint/no-implied-eval
  return new Function('record', `return record[${JSON.stringify(name)}];`) as FieldReader;
}

function writeItemId(batch: FeatureBatch, row: number, id: number | bigint): void {
  if (typeof id === 'number') {
    batch.itemIdWords[row * 2] = id % TWO_32;
    batch.itemIdWords[row * 2 + 1] = Math.floor(id / TWO_32);
  } else {
    batch.itemIds[row] = id;
  }
}
