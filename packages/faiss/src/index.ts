export { FaissIndex } from './faiss-index.js';
export { FaissError, type FaissErrorCode } from './errors.js';
export { mergeOnDisk, type OnDiskMergeOptions, type OnDiskMergeResult } from './merge-on-disk.js';
export {
  faissSimd,
  getBlasThreads,
  getDistanceBlasThreshold,
  getThreads,
  nativeTasksInFlight,
  nativeTasksSettled,
  setDistanceBlasThreshold,
  setThreads,
} from './threads.js';
export { DEFAULT_TRAIN_OPTIONS } from './options.js';
export type { IndexDescription, Metric, ReadOptions, SearchOptions, SearchResult, TrainOptions } from './options.js';
export { nearestInTopK, topKOverlap } from './overlap.js';
