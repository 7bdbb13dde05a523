export { startWorker, type RunningWorker } from './worker.js';
export { DEFAULT_WORKER_OPTIONS, JOB_ATTEMPTS, JOB_BACKOFF, type WorkerOptions } from './options.js';
export { BuildQueues } from './build-queues.js';
export { readBuildSpec, readPlan, writeBuildSpec, buildSpecKey, type BuildSpec } from './build-spec.js';
export { applyRetention, listVersions, moveLatest, readLatest, readManifest, verifyVersionFiles, writeManifest, VersionError } from './versions.js';
export { DATA_FILE, ID_MAP_FILE, INDEX_FILE, type MergeResult } from './processors/merge.js';
export type { PublishResult } from './processors/publish.js';
export type { TrainResult } from './processors/train.js';
export type { RejectedRow, ShardStats } from './shard-stats.js';
