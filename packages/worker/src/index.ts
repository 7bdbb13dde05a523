/**
 * @reindex/worker — the BullMQ processors of the train, shard, merge and publish stages and the
 * `reindex-worker` binary that runs them. The build's domain they work on (spec, queues, job
 * results, versions, quality and gate) is @reindex/pipeline's.
 */
export { startWorker, type RunningWorker } from './worker.js';
export {
  DEFAULT_WORKER_OPTIONS,
  WORKER_BIN_DEFAULTS,
  defaultFaissThreads,
  defaultIntraOpThreads,
  threadPoolSizeFor,
  type WorkerOptions,
} from './options.js';
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
export { classifyFailure, type FailureClass } from './failure-class.js';
