export { startWorker, type RunningWorker } from './worker.js';
export {
  DEFAULT_WORKER_OPTIONS,
  WORKER_BIN_DEFAULTS,
  JOB_ATTEMPTS,
  JOB_BACKOFF,
  defaultFaissThreads,
  defaultIntraOpThreads,
  threadPoolSizeFor,
  type WorkerOptions,
} from './options.js';
export { BuildQueues } from './build-queues.js';
export { isBundleUrl, openModelBundle, type OpenModelBundleOptions } from './model-bundle.js';
export { readBuildSpec, readPlan, writeBuildSpec, buildSpecKey, type BuildSpec } from './build-spec.js';
export {
  applyRetention,
  listVersions,
  moveLatest,
  pruneBuilds,
  readLatest,
  readManifest,
  verifyVersionFiles,
  writeManifest,
  VersionError,
  type PrunedBuilds,
} from './versions.js';
export { DATA_FILE, ID_MAP_FILE, INDEX_FILE, type MergeResult } from './processors/merge.js';
export type { PublishResult } from './processors/publish.js';
export type { TrainResult } from './processors/train.js';
export type { RejectedRow, ShardStats } from './shard-stats.js';
export {
  DEFAULT_HEARTBEAT_INTERVAL_MS,
  heartbeatKey,
  readHeartbeats,
  startHeartbeat,
  type HeartbeatHandle,
  type HeartbeatOptions,
  type WorkerHeartbeat,
} from './heartbeat.js';
export {
  WorkerActivity,
  WorkerMetrics,
  hasWorkerMetrics,
  instrumentWorker,
  registerQueueDepthGauge,
  startMetricsServer,
  workerMetrics,
  type MetricsServer,
  type MetricsServerOptions,
} from './metrics.js';
export { createLogger, logJobEvents, type Logger } from './log.js';
export type { QualitySpec } from './build-spec.js';
export {
  ExactTopK,
  TRUTH_K,
  chooseNprobe,
  parseTruth,
  recallOf,
  serializeTruth,
  sweepNprobe,
  sweepValues,
  type NprobeChoice,
  type SweepOptions,
  type SweepRow,
  type TopK,
} from './quality.js';
export { prepareQualityQueries, queriesInfoKey, queriesKey, readQualityQueries, type QueryFileInfo, type QuerySource } from './quality-queries.js';
export { parseQueryFile, textQueryProblem, type ParsedQueryFile, type QueryFileEntry } from './query-file.js';
export { DEFINITIONS as QUALITY_DEFINITIONS, measureQuality, type QualityReport } from './quality-report.js';
export {
  QualityGateError,
  buildManifest,
  currentLatest,
  evaluateGate,
  gateFailureMessage,
  publishBuild,
  publishManifest,
  qualityRecordKey,
  readQualityRecord,
  writeQualityRecord,
  type GateCheck,
  type GateCheckName,
  type GateInputs,
  type GateVerdict,
  type PublishBuildResult,
  type QualityRecord,
} from './gate.js';
export { classifyFailure, type FailureClass } from './failure-class.js';
export { decideIdKind, type IdPolicy } from './item-ids.js';
