import { StoredRecordError, qualityQueriesKeys, type ObjectStore } from '@reindex/core';
import { parseQueryFileInfoRecord } from './records.js';

/** Where the query vectors come from (recorded in the quality report). */
export type QuerySource = 'query-tower' | 'item-embeddings' | 'query-file';

/** `builds/<id>/quality/queries.json`, beside the raw float32 vectors in `queries.f32`. */
export interface QueryFileInfo {
  count: number;
  dim: number;
  source: QuerySource;
  /** Why the item embeddings were used when the bundle has a query tower. */
  sourceNote?: string;
  sampled: number;
  seed: number;
  /**
   * With `item-embeddings`: the faiss id of the item each query is (decimal strings, in query
   * order). Such a query is its own exact nearest neighbour, so the quality stage leaves that
   * item out of both the exact and the ANN lists (leave-one-out): recall then measures how well
   * the index finds an item's neighbours, not whether it finds the item itself.
   */
  selfIds?: string[];
}

/** The held-out queries of a build, or undefined when it has none (builds from before the gate). */
export async function readQualityQueries(store: ObjectStore, buildId: string): Promise<{ info: QueryFileInfo; vectors: Float32Array } | undefined> {
  const keys = qualityQueriesKeys(buildId);
  if (!(await store.exists(keys.info))) return undefined;
  const info = parseQueryFileInfoRecord(await store.get(keys.info), keys.info);
  if (info.selfIds !== undefined && info.selfIds.length !== info.count)
    throw new StoredRecordError('RECORD_INVALID', `${keys.info} names ${info.selfIds.length} query items for ${info.count} queries`);
  const body = await store.get(keys.data);
  if (body.length !== info.count * info.dim * 4)
    throw new StoredRecordError('RECORD_INVALID', `${keys.data} has ${body.length} bytes, expected ${info.count} × ${info.dim} float32`);
  const vectors = new Float32Array(info.count * info.dim);
  body.copy(Buffer.from(vectors.buffer));
  return { info, vectors };
}
