import { ConfigError } from '../errors.js';
import { DEFAULT_CONFIG, type IndexConfig } from './reindex-config.js';

/** The budget and training knobs of {@link chooseIndexParams}; defaults are DEFAULT_CONFIG.index's. */
export interface IndexParamsOptions {
  /** What a serving host gives the populated index (config index.servingMemoryBytes): decides the PQ size. */
  servingMemoryBytes?: number;
  /** What a train or merge job may hold in RAM (config index.builderMemoryBytes): bounds the training sample. */
  builderMemoryBytes?: number;
  /** A fixed training sample size (config index.trainSampleSize); absent = nlist × trainPointsPerCentroid. */
  trainSampleSize?: number;
  /** Training points per coarse centroid (config index.trainPointsPerCentroid). */
  trainPointsPerCentroid?: number;
  /** Largest training sample the rule draws (config index.maxTrainSampleSize). */
  maxTrainSampleSize?: number;
}

/** Constants of the rule, exported so docs and tests refer to the same numbers. */
export const INDEX_PARAM_RULE = {
  /** nlist aims at this many times sqrt(N), then rounds to the nearest power of two (so 5.7..11.3·sqrt(N), inside faiss's 4..16·sqrt(N) guidance). */
  nlistPerSqrtN: 8,
  /** faiss k-means warns below 39 training points per centroid; nlist is capped to respect it. */
  minTrainPointsPerCentroid: 39,
  /**
   * From this nlist on, the coarse centroids are trained by two-level k-means: flat k-means
   * costs sample·nlist·dim per iteration (at nlist 8,192 on a 400k sample, minutes on a CPU
   * worker), two-level about sample·2·sqrt(nlist)·dim. Below it flat k-means is affordable.
   */
  twoLevelFromNlist: 4096,
  /**
   * From this nlist on, the coarse quantizer is an HNSW graph: assigning each added vector (and
   * each query) by a flat scan of 16k+ centroids costs more than encoding it.
   */
  hnswFromNlist: 16_384,
  /**
   * efSearch of the HNSW coarse quantizer (saved with the index): how exactly added vectors find
   * their nearest list (a query searches max(efSearch, nprobe) anyway). In bench:train at nlist
   * 16,384, 32 recalled as well as a flat quantizer at a third of its add time, 16 lost recall.
   */
  hnswEfSearch: 32,
  /** PQ code sizes (bytes per vector) faiss GPU IVFPQ supports, so the same factory string builds on CPU and CUDA workers. */
  pqSizes: [64, 56, 48, 40, 32, 28, 24, 20, 16, 12, 8, 4, 3, 2, 1],
  /**
   * Smallest PQ sub-vector dimension (dim / M). It was set when 2-dimensional sub-vectors made
   * PQ training several times slower (faiss's SIMD k-means); with BLAS k-means (the binding's
   * default now) that cost is gone, and the bound stays for the codes' size: PQ64 doubles serving
   * memory and add time for its recall (core README, rule 5).
   */
  minSubvectorDim: 4,
  /** Bytes per stored id in inverted lists (int64). */
  idBytes: 8,
  /** Bytes of one empty inverted list in faiss's ArrayInvertedLists (two std::vector headers). */
  listHeaderBytes: 48,
  /** Links per centroid in HNSW32 level 0 (2·32) at 4 bytes each. */
  hnswBytesPerCentroid: 2 * 32 * 4,
  /**
   * Copies of the training sample the train job holds at its peak, rounded up: the embedded
   * sample, plus one coarse cluster's points at a time in two-level k-means and faiss's
   * subsamples (each a small fraction of it). The sample may take half the builder budget.
   */
  trainSampleCopies: 2,
} as const;

export type CoarseTraining = 'flat' | 'two-level';

export interface IndexParams {
  /** faiss factory string, e.g. `IVF4096,PQ32` or `IVF131072_HNSW32,PQ16`. */
  factory: string;
  nlist: number;
  /** PQ sub-quantizers = bytes per code (8 bits each). */
  pqM: number;
  coarseQuantizer: 'flat' | 'hnsw32';
  /** How the coarse centroids are trained (see INDEX_PARAM_RULE.twoLevelFromNlist). */
  coarseTraining: CoarseTraining;
  /** HNSW coarse quantizers: the efSearch trained into the index. */
  quantizerEfSearch?: number;
  /** Vectors the train job samples, embeds and trains on. */
  trainSampleSize: number;
  /** Code + id bytes per vector in the inverted lists. */
  bytesPerVector: number;
  /** Serving size: memory of the populated index (codes, ids, centroids, codebooks, graph). */
  estimatedIndexBytes: number;
  /** Builder memory of the train job's sample at its peak (trainSampleCopies × sample × dim × 4). */
  estimatedTrainBytes: number;
  /** Why each number was chosen, one sentence per decision. */
  rationale: string[];
}

/**
 * Chooses IVF-PQ parameters for `itemCount` vectors of dimension `dim` (see the core README,
 * "Index parameters"):
 * 1. nlist = the power of two nearest 8·sqrt(N) (at most N).
 * 2. The training sample = nlist × trainPointsPerCentroid, at most N, maxTrainSampleSize and
 *    what half the builder budget holds (or index.trainSampleSize when configured); nlist is
 *    then capped so the sample gives >= 39 points per centroid.
 * 3. Coarse training: two-level k-means from nlist 4,096; coarse quantizer: HNSW32 from 16,384.
 * 4. M = the largest GPU-compatible PQ size dividing dim, with sub-vectors of at least
 *    INDEX_PARAM_RULE.minSubvectorDim dimensions, whose index fits the serving budget:
 *    N·(M + 8) + nlist·dim·4 (centroids) + 256·dim·4 (PQ codebooks) [+ nlist·256 for HNSW].
 */
export function chooseIndexParams(itemCount: number, dim: number, options: IndexParamsOptions = {}): IndexParams {
  const defaults = DEFAULT_CONFIG.index;
  const servingMemoryBytes = options.servingMemoryBytes ?? defaults.servingMemoryBytes;
  const builderMemoryBytes = options.builderMemoryBytes ?? defaults.builderMemoryBytes;
  const pointsPerCentroid = options.trainPointsPerCentroid ?? defaults.trainPointsPerCentroid;
  const maxTrainSampleSize = options.maxTrainSampleSize ?? defaults.maxTrainSampleSize;
  if (!Number.isSafeInteger(itemCount) || itemCount < 1) throw new ConfigError(`item count must be a positive integer, got ${itemCount}`);
  if (!Number.isSafeInteger(dim) || dim < 1) throw new ConfigError(`embedding dim must be a positive integer, got ${dim}`);
  const positive: Array<[string, number | undefined]> = [
    ['index.servingMemoryBytes', servingMemoryBytes],
    ['index.builderMemoryBytes', builderMemoryBytes],
    ['index.trainPointsPerCentroid', pointsPerCentroid],
    ['index.maxTrainSampleSize', maxTrainSampleSize],
    ['index.trainSampleSize', options.trainSampleSize],
  ];
  for (const [name, value] of positive) {
    if (value !== undefined && (!Number.isSafeInteger(value) || value < 1)) throw new ConfigError(`${name} must be a positive integer, got ${value}`);
  }
  const rule = INDEX_PARAM_RULE;
  const rationale: string[] = [];

  const target = rule.nlistPerSqrtN * Math.sqrt(itemCount);
  let nlist = Math.min(2 ** Math.max(0, Math.round(Math.log2(target))), floorPow2(itemCount));
  rationale.push(`nlist ${nlist}: power of two nearest ${rule.nlistPerSqrtN}·sqrt(${itemCount}) = ${target.toFixed(0)}`);

  const training = chooseTrainSample(nlist, itemCount, dim, { builderMemoryBytes, pointsPerCentroid, maxTrainSampleSize, fixed: options.trainSampleSize });
  rationale.push(training.reason);
  const { trainSampleSize } = training;
  const maxByTraining = floorPow2(Math.max(1, trainSampleSize / rule.minTrainPointsPerCentroid));
  if (nlist > maxByTraining) {
    nlist = maxByTraining;
    rationale.push(
      `nlist capped to ${nlist}: ${trainSampleSize} training points allow at most ${nlist} centroids of ${rule.minTrainPointsPerCentroid}+ points`,
    );
  }
  const coarseTraining: CoarseTraining = nlist >= rule.twoLevelFromNlist ? 'two-level' : 'flat';
  if (coarseTraining === 'two-level') {
    rationale.push(
      `two-level k-means: nlist ${nlist} >= ${rule.twoLevelFromNlist}, ${Math.round(Math.sqrt(nlist))} coarse clusters, then sub-centroids per cluster by size`,
    );
  }
  const coarseQuantizer = nlist >= rule.hnswFromNlist ? 'hnsw32' : 'flat';
  if (coarseQuantizer === 'hnsw32') {
    rationale.push(
      `HNSW32 coarse quantizer (efSearch ${rule.hnswEfSearch}): nlist ${nlist} >= ${rule.hnswFromNlist}, a flat scan of the centroids would dominate add and query time`,
    );
  }

  const fixedBytes = nlist * dim * 4 + 256 * dim * 4 + (coarseQuantizer === 'hnsw32' ? nlist * rule.hnswBytesPerCentroid : 0);
  const sizeFor = (m: number): number => itemCount * (m + rule.idBytes) + fixedBytes;
  const candidates = rule.pqSizes.filter((m) => m <= dim / rule.minSubvectorDim && dim % m === 0);
  const pqM = candidates.find((m) => sizeFor(m) <= servingMemoryBytes);
  if (pqM === undefined) {
    const smallest = candidates[candidates.length - 1]!;
    throw new ConfigError(
      `index.servingMemoryBytes ${servingMemoryBytes} is too small for ${itemCount} vectors of dim ${dim}: the smallest IVF-PQ index (PQ${smallest}, nlist ${nlist}) needs ${sizeFor(smallest)} bytes; raise it, or split the catalogue into several indexes`,
      { code: 'INDEX_BUDGET_TOO_SMALL' },
    );
  }
  const larger = candidates.filter((m) => m > pqM);
  rationale.push(
    `PQ${pqM}: ${pqM}-byte codes + ${rule.idBytes}-byte ids for ${itemCount} vectors fit index.servingMemoryBytes ${servingMemoryBytes}` +
      (larger.length > 0 ? ` (PQ${larger[larger.length - 1]} would need ${sizeFor(larger[larger.length - 1]!)})` : ' (largest size dividing the dim)'),
  );
  const factory = `IVF${nlist}${coarseQuantizer === 'hnsw32' ? '_HNSW32' : ''},PQ${pqM}`;
  return {
    factory,
    nlist,
    pqM,
    coarseQuantizer,
    coarseTraining,
    ...(coarseQuantizer === 'hnsw32' ? { quantizerEfSearch: rule.hnswEfSearch } : {}),
    trainSampleSize,
    bytesPerVector: pqM + rule.idBytes,
    estimatedIndexBytes: sizeFor(pqM),
    estimatedTrainBytes: trainSampleSize * rule.trainSampleCopies * dim * 4,
    rationale,
  };
}

/**
 * The training sample for `nlist` lists: nlist × pointsPerCentroid, at most the items,
 * maxTrainSampleSize and half the builder budget; or the configured fixed size.
 */
function chooseTrainSample(
  nlist: number,
  itemCount: number,
  dim: number,
  o: { builderMemoryBytes: number; pointsPerCentroid: number; maxTrainSampleSize: number; fixed: number | undefined },
): { trainSampleSize: number; reason: string } {
  if (o.fixed !== undefined) {
    const size = Math.min(o.fixed, itemCount);
    return { trainSampleSize: size, reason: `training sample ${size}: index.trainSampleSize` };
  }
  const bytesPerVector = INDEX_PARAM_RULE.trainSampleCopies * dim * 4;
  const byBuilder = Math.max(1, Math.floor(o.builderMemoryBytes / 2 / bytesPerVector));
  const wanted = nlist * o.pointsPerCentroid;
  const size = Math.min(wanted, itemCount, o.maxTrainSampleSize, byBuilder);
  const bound =
    size === wanted
      ? `${o.pointsPerCentroid} points for each of ${nlist} centroids`
      : size === itemCount
        ? 'every item'
        : size === o.maxTrainSampleSize
          ? `index.maxTrainSampleSize (${nlist}·${o.pointsPerCentroid} = ${wanted} wanted)`
          : `half of index.builderMemoryBytes ${o.builderMemoryBytes} at ${bytesPerVector} bytes per sampled vector (${wanted} wanted)`;
  return { trainSampleSize: size, reason: `training sample ${size}: ${bound}` };
}

/**
 * Index parameters of a configured factory string: its nlist and PQ size as written; the
 * training sample, coarse training and (HNSW) efSearch follow the same rule as chosen ones.
 */
export function configuredIndexParams(factory: string, itemCount: number, dim: number, options: IndexParamsOptions = {}): IndexParams {
  const defaults = DEFAULT_CONFIG.index;
  const nlist = Number(/IVF(\d+)/.exec(factory)?.[1] ?? 1);
  const pqM = Number(/PQ(\d+)/.exec(factory)?.[1] ?? 0);
  const hnsw = /IVF\d+_HNSW/.test(factory);
  const bytesPerVector = (pqM || dim * 4) + INDEX_PARAM_RULE.idBytes;
  // faiss allocates the centroids and one empty list header per list as soon as the factory
  // string is instantiated, before any vector: refuse a size that cannot fit before it does.
  const builderMemoryBytes = options.builderMemoryBytes ?? defaults.builderMemoryBytes;
  const listBytes = nlist * (dim * 4 + INDEX_PARAM_RULE.listHeaderBytes);
  if (!Number.isSafeInteger(nlist) || listBytes > builderMemoryBytes) {
    throw new ConfigError(
      `index.factory ${factory} has ${nlist} lists: their centroids and list headers alone take ${listBytes} bytes, more than index.builderMemoryBytes ${builderMemoryBytes}; use fewer lists`,
      { code: 'INDEX_FACTORY_TOO_LARGE' },
    );
  }
  const training = chooseTrainSample(nlist, itemCount, dim, {
    builderMemoryBytes,
    pointsPerCentroid: options.trainPointsPerCentroid ?? defaults.trainPointsPerCentroid,
    maxTrainSampleSize: options.maxTrainSampleSize ?? defaults.maxTrainSampleSize,
    fixed: options.trainSampleSize,
  });
  // k-means needs at least nlist points: say so at plan time, not after the train job sampled.
  if (training.trainSampleSize < nlist) {
    throw new ConfigError(
      `index.factory ${factory} has ${nlist} lists but the training sample is ${training.trainSampleSize} vectors (${training.reason}); k-means needs at least one per list: raise index.trainSampleSize or index.builderMemoryBytes, or use fewer lists`,
      { code: 'TRAIN_SAMPLE_TOO_SMALL' },
    );
  }
  const coarseTraining: CoarseTraining = nlist >= INDEX_PARAM_RULE.twoLevelFromNlist && training.trainSampleSize >= nlist ? 'two-level' : 'flat';
  return {
    factory,
    nlist,
    pqM,
    coarseQuantizer: hnsw ? 'hnsw32' : 'flat',
    coarseTraining,
    ...(hnsw ? { quantizerEfSearch: INDEX_PARAM_RULE.hnswEfSearch } : {}),
    trainSampleSize: training.trainSampleSize,
    bytesPerVector,
    estimatedIndexBytes: itemCount * bytesPerVector + nlist * dim * 4,
    estimatedTrainBytes: training.trainSampleSize * INDEX_PARAM_RULE.trainSampleCopies * dim * 4,
    rationale: [
      `factory string from configuration: ${factory}`,
      training.reason,
      ...(coarseTraining === 'two-level' ? [`two-level k-means: nlist ${nlist} >= ${INDEX_PARAM_RULE.twoLevelFromNlist}`] : []),
    ],
  };
}

/** The index parameters a config's `index` section gives `itemCount` vectors of `dim`: its factory string, or the rule's choice. */
export function indexParamsForConfig(index: IndexConfig, itemCount: number, dim: number): IndexParams {
  const { servingMemoryBytes, builderMemoryBytes, trainPointsPerCentroid, maxTrainSampleSize, trainSampleSize } = index;
  const budget = {
    servingMemoryBytes,
    builderMemoryBytes,
    trainPointsPerCentroid,
    maxTrainSampleSize,
    ...(trainSampleSize !== undefined ? { trainSampleSize } : {}),
  };
  return index.factory ? configuredIndexParams(index.factory, itemCount, dim, budget) : chooseIndexParams(itemCount, dim, budget);
}

function floorPow2(x: number): number {
  return 2 ** Math.floor(Math.log2(Math.max(1, x)));
}
