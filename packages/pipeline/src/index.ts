/**
 * @reindex/pipeline — the build's domain, shared by the coordinator (which plans, submits, waits
 * and resumes), the worker (whose processors run the stages) and the dashboard and CLI (which
 * read builds and versions): the build spec and its records, the four-queue topology, what each
 * stage returns, versions/LATEST/retention, the quality stage and its gate, heartbeats and logs.
 */
export { BuildIntegrityError, readBuildSpec, readPlan, writeBuildSpec, type IncrementalBase, type BuildSpec, type QualitySpec } from './build-spec.js';
export { parseBuildSpecRecord, parseQualityRecord, parseQueryFileInfoRecord, parseShardStatsRecord } from './records.js';
export { BuildQueues, JOB_ATTEMPTS, JOB_BACKOFF } from './build-queues.js';
export {
  DATA_FILE,
  ID_MAP_FILE,
  INDEX_FILE,
  QUALITY_FILES,
  type MergeResult,
  type PublishResult,
  type RejectionReport,
  type TrainResult,
} from './job-results.js';
export { MAX_REJECTED_EXAMPLES, RejectionTally, type RejectedRow, type ShardStats } from './shard-stats.js';
export {
  VersionError,
  applyRetention,
  listVersions,
  moveLatest,
  pruneBuilds,
  readLatest,
  readManifest,
  verifyVersionFiles,
  writeManifest,
  type PrunedBuilds,
} from './versions.js';
export {
  ExactTopK,
  LATENCY_QUERIES,
  TRUTH_BATCH_ITEMS,
  TRUTH_K,
  chooseNprobe,
  dropIds,
  parseTruth,
  recallOf,
  serializeTruth,
  sweepNprobe,
  sweepValues,
  type Metric,
  type NprobeChoice,
  type SweepOptions,
  type SweepRow,
  type TopK,
} from './quality.js';
export { readQualityQueries, type QueryFileInfo, type QuerySource } from './quality-queries.js';
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
  readQualityRecord,
  writeQualityRecord,
  type GateCheck,
  type GateCheckName,
  type GateInputs,
  type GateVerdict,
  type PublishBuildResult,
  type QualityRecord,
} from './gate.js';
export { isBundleUrl, openModelBundle, type OpenModelBundleOptions } from './model-bundle.js';
export {
  DEFAULT_HEARTBEAT_INTERVAL_MS,
  heartbeatKey,
  readHeartbeats,
  startHeartbeat,
  type HeartbeatHandle,
  type HeartbeatOptions,
  type WorkerHeartbeat,
} from './heartbeat.js';
export { createLogger, logJobEvents, type Logger } from './log.js';
export {
  FINGERPRINTS_FILE,
  FINGERPRINT_RECORD_BYTES,
  decodeFingerprints,
  encodeFingerprints,
  fingerprintSpec,
  itemFingerprint,
  type FingerprintSpec,
} from './fingerprints.js';
export { downloadBaseFile, readBaseFile } from './incremental-base.js';
