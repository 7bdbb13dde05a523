/** Distance metric of an index: inner product (on L2-normalised vectors: cosine) or squared L2. */
export type Metric = 'ip' | 'l2';

export interface SearchOptions {
  /**
   * Inverted lists visited per query (IVF indexes only; ignored by others). Default: the
   * index's own setting (faiss default 1). More lists raise recall and cost time roughly
   * linearly; values above nlist are clamped to nlist.
   */
  nprobe?: number;
}

export interface ReadOptions {
  /**
   * Map the inverted lists of the file instead of loading them: the index is read-only and
   * its memory is the page cache, so many large sub-indexes can be opened at once. Default false.
   */
  mmap?: boolean;
}

export interface SearchResult {
  /** n × k distances, row-major; inner products for 'ip', squared L2 for 'l2'. */
  distances: Float32Array;
  /** n × k ids, row-major; -1 where fewer than k results were found. */
  labels: BigInt64Array;
}

export interface IndexDescription {
  /** faiss class name, e.g. IndexIVFPQ, IndexPreTransform, IndexFlat. */
  type: string;
  metric: Metric;
  /** IVF only: number of inverted lists. */
  nlist?: number;
  /** IVF only: bytes per stored vector code. */
  codeSize?: number;
  /** On-disk IVF only: the inverted-list data file the index maps. */
  onDiskDataFile?: string;
  /** True for memory-mapped and on-disk indexes: they can be searched, not added to or merged into. */
  readOnly: boolean;
}

/** IVF-PQ training knobs (ignored by index types they do not apply to). */
export interface TrainOptions {
  /**
   * Run faiss's polysemous training after the product quantizer (faiss's factory turns it on
   * for `PQ` codes). It only serves polysemous Hamming-filtered search, which reindex never
   * uses, and it takes more than half of IVF-PQ training time. Default false.
   */
  polysemousTraining?: boolean;
  /**
   * Training points per PQ centroid (faiss's `max_points_per_centroid`, faiss default 256, so
   * 65,536 points per sub-quantizer). Fewer points train faster; too few (< ~40) lose recall.
   * Default 128: in bench:faiss, half of faiss's training time at the same recall@10.
   */
  pqPointsPerCentroid?: number;
  /**
   * Compute sub-quantizer k-means distances with BLAS (faiss's default above 20 points), or
   * with faiss's own SIMD loops (false). Default true: once OpenBLAS runs on the faiss thread
   * count (see getBlasThreads), BLAS was faster at every PQ size measured, by far for 2-dimensional
   * sub-vectors, where the loops' per-pair overhead dominates (the README's table).
   */
  pqKmeansBlas?: boolean;
  /**
   * How the coarse centroids (IVF lists) are trained. `flat`: faiss's k-means, every point
   * against every centroid each iteration (cost n·nlist·dim per iteration). `two-level`:
   * k-means into round(sqrt(nlist)) clusters, then each cluster's points into a share of the
   * nlist centroids proportional to its size (about n·2·sqrt(nlist)·dim per iteration): what
   * makes 16k–256k lists trainable on a CPU worker. Needs at least nlist vectors. Default `flat`.
   */
  coarseTraining?: 'flat' | 'two-level';
  /** k-means iterations of the coarse quantizer (both levels when two-level). Default 10, faiss's for IVF quantizers. */
  kmeansIterations?: number;
  /**
   * HNSW coarse quantizers only (`IVFn_HNSWm`): candidates kept while searching the centroid
   * graph (faiss's `efSearch`, saved with the index). It decides how often a vector is
   * assigned to its true nearest list when added, and how well a query finds its nearest lists.
   * Higher is more exact and slower. Default 16 (faiss's).
   */
  quantizerEfSearch?: number;
}

/** The defaults of {@link TrainOptions}; the code spreads these, the tests check them. */
export const DEFAULT_TRAIN_OPTIONS: Required<TrainOptions> = Object.freeze({
  polysemousTraining: false,
  pqPointsPerCentroid: 128,
  pqKmeansBlas: true,
  coarseTraining: 'flat',
  kmeansIterations: 10,
  quantizerEfSearch: 16,
});
