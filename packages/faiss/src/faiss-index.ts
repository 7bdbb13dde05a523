import { mapped, mappedSync } from './errors.js';
import { native, type NativeIndex } from './native.js';
import {
  DEFAULT_TRAIN_OPTIONS,
  type IndexDescription,
  type Metric,
  type ReadOptions,
  type SearchOptions,
  type SearchResult,
  type TrainOptions,
} from './options.js';

const construct = Symbol('FaissIndex.construct');

/**
 * A faiss index held by the addon. Heavy calls (train, add, search, merge, read, write)
 * run on libuv worker threads and return promises; typed arrays cross without per-element
 * copies. Concurrent calls on one index are safe: writers run one at a time, searches share.
 */
export class FaissIndex {
  readonly #native: NativeIndex;

  /** Use {@link FaissIndex.fromFactory}, {@link FaissIndex.read} or {@link FaissIndex.fromBuffer}. */
  constructor(token: typeof construct, nativeIndex: NativeIndex) {
    if (token !== construct) throw new TypeError('use FaissIndex.fromFactory, read or fromBuffer');
    this.#native = nativeIndex;
  }

  /**
   * Any faiss factory string: `IVF4096,PQ32`, `IVF65536_HNSW32,PQ32`, `OPQ32,IVF1024,PQ32`,
   * `IDMap,Flat`, ... The index is empty and, for IVF/PQ kinds, untrained.
   */
  static fromFactory(dim: number, factory: string, metric: Metric = 'ip'): FaissIndex {
    return new FaissIndex(
      construct,
      mappedSync(() => native.fromFactory(dim, factory, metric)),
    );
  }

  /** Reads a standard faiss index file (what `faiss::write_index` or Python `faiss.write_index` wrote). */
  static async read(path: string, options: ReadOptions = {}): Promise<FaissIndex> {
    return new FaissIndex(construct, await mapped(() => native.readFile(path, options.mmap ?? false)));
  }

  /** Reads an index from the bytes of a standard faiss serialization (see {@link toBuffer}). */
  static async fromBuffer(bytes: Uint8Array): Promise<FaissIndex> {
    return new FaissIndex(construct, await mapped(() => native.fromBuffer(bytes)));
  }

  get ntotal(): number {
    return this.#native.ntotal;
  }

  get dim(): number {
    return this.#native.dim;
  }

  get isTrained(): boolean {
    return this.#native.isTrained;
  }

  describe(): IndexDescription {
    return mappedSync(() => this.#native.describe());
  }

  /** Trains the coarse quantizer and codebooks on `x` (n × dim, row-major). */
  train(x: Float32Array, options: TrainOptions = {}): Promise<void> {
    return mapped(() => this.#native.train(x, { ...DEFAULT_TRAIN_OPTIONS, ...options }));
  }

  /** Adds n vectors with their int64 ids; the index must be trained. */
  addWithIds(x: Float32Array, ids: BigInt64Array): Promise<void> {
    return mapped(() => this.#native.addWithIds(x, ids));
  }

  /**
   * Removes every entry whose id is in `ids` (all copies, in every list) from a writable IVF
   * index; resolves to how many entries went.
   */
  removeIds(ids: BigInt64Array): Promise<number> {
    return mapped(() => this.#native.removeIds(ids));
  }

  /** k nearest neighbours of each query (n × dim, row-major). */
  search(queries: Float32Array, k: number, options: SearchOptions = {}): Promise<SearchResult> {
    return mapped(() => this.#native.search(queries, k, options.nprobe));
  }

  /** Standard faiss serialization of the index. */
  toBuffer(): Promise<Buffer> {
    return mapped(() => this.#native.toBuffer());
  }

  /** Writes the index to `path` in standard faiss serialization. */
  write(path: string): Promise<void> {
    return mapped(() => this.#native.write(path));
  }

  /** A deep copy; the usual use is one copy of the trained empty index per shard. */
  async clone(): Promise<FaissIndex> {
    return new FaissIndex(construct, await mapped(() => this.#native.clone()));
  }

  /**
   * Moves every entry of `other` (an IVF index cloned from the same trained index) into this
   * one, keeping ids. `other` is left empty, as faiss's `merge_from` does.
   */
  mergeFrom(other: FaissIndex): Promise<void> {
    return mapped(() => this.#native.mergeFrom(other.#native));
  }

  /** Frees the index; idempotent. Calls already queued finish first or fail with CLOSED. */
  close(): Promise<void> {
    return mapped(() => this.#native.close());
  }
}
