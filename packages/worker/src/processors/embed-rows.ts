import { hashStringId } from '@reindex/core';
import type { Embedder } from '@reindex/item-tower';
import type { BuildSpec } from '@reindex/pipeline';

/**
 * Embeds records (rejections dropped: a sample needs vectors, not reports), with the faiss id
 * each accepted record has in the index (a string id's hash), in the same order.
 */
export async function embedAll(embedder: Embedder, records: unknown[], spec: BuildSpec): Promise<{ vectors: Float32Array; count: number; ids: BigInt64Array }> {
  const idField = spec.catalogue.fields.id;
  const batch = await embedder.embed(records.map((r) => withHashedId(r, spec)));
  const rejected = new Set(batch.rejections.map((r) => r.index));
  const ids = new BigInt64Array(batch.ids.length);
  let n = 0;
  records.forEach((record, i) => {
    if (rejected.has(i)) return;
    ids[n] = hasStringId(record, idField) ? hashStringId((record as Record<string, string>)[idField]!) : batch.ids[n]!;
    n++;
  });
  return { vectors: batch.vectors, count: batch.ids.length, ids };
}

/**
 * Embeds records into `out` from vector `offset` on, rejections dropped; returns how many
 * vectors were written. `out` must have room for every record.
 */
export async function embedInto(embedder: Embedder, records: unknown[], spec: BuildSpec, out: Float32Array, offset: number): Promise<number> {
  const dim = spec.model.dim;
  if ((offset + records.length) * dim > out.length) {
    throw new RangeError(`embedInto: ${records.length} records from vector ${offset} do not fit ${out.length / dim} vectors`);
  }
  let count = 0;
  const chunk = 8192;
  for (let start = 0; start < records.length; start += chunk) {
    const batch = await embedder.embed(records.slice(start, start + chunk).map((r) => withHashedId(r, spec)));
    out.set(batch.vectors, (offset + count) * dim);
    count += batch.ids.length;
  }
  return count;
}

/** True when a record's id is a non-empty string: hashed to int64, digits or not (see item-ids.ts). */
export function hasStringId(record: unknown, idField: string): boolean {
  if (typeof record !== 'object' || record === null) return false;
  const id = (record as Record<string, unknown>)[idField];
  return typeof id === 'string' && id !== '';
}

/**
 * For the training sample only: string ids do not matter for training, so any non-numeric id
 * is replaced by 0 to keep the record acceptable to the featurizer.
 */
function withHashedId(record: unknown, spec: BuildSpec): unknown {
  const idField = spec.catalogue.fields.id;
  return hasStringId(record, idField) ? { ...(record as object), [idField]: 0 } : record;
}
