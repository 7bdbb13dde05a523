export { startDashboard, type RunningDashboard } from './server.js';
export { DEFAULT_DASHBOARD_OPTIONS, DashboardConfigError, isLoopbackHost, resolveDashboardOptions, type DashboardOptions } from './options.js';
export { ACTION_HEADER } from './auth.js';
export { ActionError, cancelBuild, retryJob, type CancelResult, type RetryResult } from './actions.js';
export { BuildReader, type BuildStatus, type BuildView, type ShardRow, type StageCounts } from './builds.js';
export { appendBuildLog, readBuildLog, type BuildLogEntry } from './build-log.js';
export { liveWorkers, type LiveWorker } from './workers.js';
export { PublishedVersions, type IndexVersions, type VersionSummary } from './published.js';
