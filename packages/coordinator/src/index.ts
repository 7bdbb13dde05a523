export { prepareBuild, type PreparedBuild } from './prepare-build.js';
export { BuildFailedError, resumeBuild, submitBuild, waitForBuild, type BuildProgress } from './build-runner.js';
export { EMBEDDED_DEFAULTS, REPO_ROOT, ensureReferenceModel, ensureSampleCatalogue } from './defaults.js';
export { BuildLock, BuildLockedError, DEFAULT_BUILD_LOCK_TTL_MS, buildLockKey } from './build-lock.js';
export { DEFAULT_SCALE_RATES_FILE, TARGET_SHARD_SECONDS, planCapacity, readScaleRates, type CapacityPlan, type ScaleRates } from './capacity-plan.js';
