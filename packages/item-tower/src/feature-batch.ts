/**
 * Preallocated input tensors for one batch, reused batch after batch so featurization allocates
 * no tensors. (Plain ArrayBuffers: onnxruntime-node rejects tensors over SharedArrayBuffers, so
 * the rows in use are copied once when a batch is handed to the inference worker.)
 */
import type { FeatureSpec } from './feature-spec.js';
import { featureWidth } from './feature-spec.js';

// Ids are written as two 32-bit words into int64 tensors (no BigInt per element); that relies
// on little-endian memory, which every platform onnxruntime-node ships for has.
if (new Uint8Array(new Uint32Array([1]).buffer)[0] !== 1) {
  throw new Error('@reindex/item-tower requires a little-endian platform');
}

/** One ONNX input tensor of a batch, `[capacity, width]` row-major. */
export interface BatchTensor {
  readonly name: string;
  readonly dtype: 'int64' | 'int32' | 'float32';
  readonly width: number;
  /** The tensor data; only the first `count × width` elements are meaningful. */
  readonly data: BigInt64Array | Int32Array | Float32Array;
  /** int64: the same memory as 32-bit words (2 per element); int32: `data` itself. */
  readonly words: Int32Array | null;
}

export class FeatureBatch {
  /** Items accepted so far; rows `[0, count)` of every tensor are filled. */
  count = 0;
  /** Item id of each row (faiss int64 ids). */
  readonly itemIds: BigInt64Array;
  /** Same memory as `itemIds`, as 32-bit words, to write ids without BigInt allocation. */
  readonly itemIdWords: Int32Array;
  readonly tensors: readonly BatchTensor[];

  constructor(
    readonly capacity: number,
    features: readonly FeatureSpec[],
  ) {
    this.itemIds = new BigInt64Array(capacity);
    this.itemIdWords = new Int32Array(this.itemIds.buffer);
    const tensors: BatchTensor[] = [];
    for (const f of features) {
      const width = featureWidth(f);
      const elements = capacity * width;
      if (f.dtype === 'int64') {
        const data = new BigInt64Array(elements);
        tensors.push({ name: f.input, dtype: 'int64', width, data, words: new Int32Array(data.buffer) });
      } else {
        const data = new Int32Array(elements);
        tensors.push({ name: f.input, dtype: 'int32', width, data, words: data });
      }
      if (f.kind === 'text') {
        const data = new Float32Array(elements);
        tensors.push({ name: f.maskInput, dtype: 'float32', width, data, words: null });
      }
    }
    this.tensors = tensors;
  }

  /** Item ids of rows `[0, count)` (a view, valid until the batch is refilled). */
  ids(): BigInt64Array {
    return this.itemIds.subarray(0, this.count);
  }
}
