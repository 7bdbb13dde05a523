import { ConfigError } from '../errors.js';

export interface IndexParamsOptions {
  /** Training sample size (config index.trainSampleSize). Default 100,000. */
  trainSampleSize?: number;
}

/** Constants of the rule, exported so docs and tests refer to the same numbers. */
export const INDEX_PARAM_RULE = {
  /** nlist aims at this many times sqrt(N), then rounds to the nearest power of two (so 5.7..11.3·sqrt(N), inside faiss's 4..16·sqrt(N) guidance). */
  nlistPerSqrtN: 8,
  /** faiss k-means warns below 39 training points per centroid; nlist is capped to respect it. */
  minTrainPointsPerCentroid: 39,
  /** From this nlist on, the coarse quantizer is an HNSW graph: a flat scan of 65k+ centroids per query dominates latency. */
  hnswFromNlist: 65_536,
  /** PQ code sizes (bytes per vector) faiss GPU IVFPQ supports, so the same factory string builds on CPU and CUDA workers. */
  pqSizes: [64, 56, 48, 40, 32, 28, 24, 20, 16, 12, 8, 4, 3, 2, 1],
  /**
   * Smallest PQ sub-vector dimension (dim / M). Below 4, k-means per sub-quantizer costs the
   * same while M doubles: IVF1024,PQ64 on 128-d trained in 235 s here against 17 s for PQ32
   * (docs/benchmarks.md), for codes that still fit the budget of nightly builds.
   */
  minSubvectorDim: 4,
  /** Bytes per stored id in inverted lists (int64). */
  idBytes: 8,
  /** Links per centroid in HNSW32 level 0 (2·32) at 4 bytes each. */
  hnswBytesPerCentroid: 2 * 32 * 4,
} as const;

export interface IndexParams {
  /** faiss factory string, e.g. `IVF4096,PQ32` or `IVF131072_HNSW32,PQ16`. */
  factory: string;
  nlist: number;
  /** PQ sub-quantizers = bytes per code (8 bits each). */
  pqM: number;
  coarseQuantizer: 'flat' | 'hnsw32';
  /** Code + id bytes per vector in the inverted lists. */
  bytesPerVector: number;
  /** Estimated memory of the populated index. */
  estimatedIndexBytes: number;
  /** Why each number was chosen, one sentence per decision. */
  rationale: string[];
}

/**
 * Chooses IVF-PQ parameters for `itemCount` vectors of dimension `dim` within
 * `memoryBudgetBytes` (see README "Index parameters"):
 * 1. nlist = power of two nearest 8·sqrt(N), capped so the training sample gives >= 39 points
 *    per centroid (and nlist <= N).
 * 2. M = the largest GPU-compatible PQ size dividing dim, with sub-vectors of at least
 *    INDEX_PARAM_RULE.minSubvectorDim dimensions, whose index fits the budget:
 *    N·(M + 8) + nlist·dim·4 (centroids) + 256·dim·4 (PQ codebooks) [+ nlist·256 for HNSW].
 * 3. The coarse quantizer is HNSW32 when nlist >= 65,536, flat otherwise.
 */
export function chooseIndexParams(itemCount: number, dim: number, memoryBudgetBytes: number, options: IndexParamsOptions = {}): IndexParams {
  const trainSampleSize = options.trainSampleSize ?? 100_000;
  if (!Number.isSafeInteger(itemCount) || itemCount < 1) throw new ConfigError(`item count must be a positive integer, got ${itemCount}`);
  if (!Number.isSafeInteger(dim) || dim < 1) throw new ConfigError(`embedding dim must be a positive integer, got ${dim}`);
  if (!Number.isSafeInteger(memoryBudgetBytes) || memoryBudgetBytes < 1) {
    throw new ConfigError(`index.memoryBudgetBytes must be a positive integer, got ${memoryBudgetBytes}`);
  }
  if (!Number.isSafeInteger(trainSampleSize) || trainSampleSize < 1) {
    throw new ConfigError(`index.trainSampleSize must be a positive integer, got ${trainSampleSize}`);
  }
  const rule = INDEX_PARAM_RULE;
  const rationale: string[] = [];

  const target = rule.nlistPerSqrtN * Math.sqrt(itemCount);
  let nlist = 2 ** Math.max(0, Math.round(Math.log2(target)));
  rationale.push(`nlist ${nlist}: power of two nearest ${rule.nlistPerSqrtN}·sqrt(${itemCount}) = ${target.toFixed(0)}`);
  const trainPoints = Math.min(trainSampleSize, itemCount);
  const maxByTraining = Math.max(1, 2 ** Math.floor(Math.log2(Math.max(1, trainPoints / rule.minTrainPointsPerCentroid))));
  if (nlist > maxByTraining) {
    nlist = maxByTraining;
    rationale.push(`nlist capped to ${nlist}: ${trainPoints} training points allow at most ${rule.minTrainPointsPerCentroid} points per centroid for ${nlist} centroids`);
  }
  const coarseQuantizer = nlist >= rule.hnswFromNlist ? 'hnsw32' : 'flat';
  if (coarseQuantizer === 'hnsw32') rationale.push(`HNSW32 coarse quantizer: nlist ${nlist} >= ${rule.hnswFromNlist}, a flat scan of the centroids would dominate query time`);

  const fixedBytes = nlist * dim * 4 + 256 * dim * 4 + (coarseQuantizer === 'hnsw32' ? nlist * rule.hnswBytesPerCentroid : 0);
  const sizeFor = (m: number): number => itemCount * (m + rule.idBytes) + fixedBytes;
  const candidates = rule.pqSizes.filter((m) => m <= dim / rule.minSubvectorDim && dim % m === 0);
  const pqM = candidates.find((m) => sizeFor(m) <= memoryBudgetBytes);
  if (pqM === undefined) {
    const smallest = candidates[candidates.length - 1]!;
    throw new ConfigError(
      `index.memoryBudgetBytes ${memoryBudgetBytes} is too small for ${itemCount} vectors of dim ${dim}: the smallest IVF-PQ index (PQ${smallest}, nlist ${nlist}) needs ${sizeFor(smallest)} bytes`,
      { code: 'INDEX_BUDGET_TOO_SMALL' },
    );
  }
  const larger = candidates.filter((m) => m > pqM);
  rationale.push(
    `PQ${pqM}: ${pqM}-byte codes + ${rule.idBytes}-byte ids for ${itemCount} vectors fit ${memoryBudgetBytes} bytes` +
      (larger.length > 0 ? ` (PQ${larger[larger.length - 1]} would need ${sizeFor(larger[larger.length - 1]!)})` : ' (largest size dividing the dim)'),
  );
  const factory = `IVF${nlist}${coarseQuantizer === 'hnsw32' ? '_HNSW32' : ''},PQ${pqM}`;
  return {
    factory,
    nlist,
    pqM,
    coarseQuantizer,
    bytesPerVector: pqM + rule.idBytes,
    estimatedIndexBytes: sizeFor(pqM),
    rationale,
  };
}
