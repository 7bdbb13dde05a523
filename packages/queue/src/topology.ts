/**
 * The queues of a build, in the order its stages run. Every process of a deployment (CLI,
 * workers, dashboard) must agree on these names and on the key prefix.
 */
export const QUEUE_NAMES = Object.freeze({
  train: 'reindex-train',
  shard: 'reindex-shard',
  merge: 'reindex-merge',
  publish: 'reindex-publish',
});

export type StageName = keyof typeof QUEUE_NAMES;

export const STAGES: readonly StageName[] = Object.freeze(['train', 'shard', 'merge', 'publish'] as const);

/** Redis key prefix of every reindex queue (BullMQ's `prefix`). */
export const DEFAULT_QUEUE_PREFIX = 'reindex';

const buildIdPattern = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/;

/** Build ids appear in job ids, Redis keys and object-store keys: keep them to a safe alphabet. */
export function assertBuildId(buildId: unknown, what = 'buildId'): asserts buildId is string {
  if (typeof buildId !== 'string' || !buildIdPattern.test(buildId)) {
    throw new TypeError(`${what} must match ${buildIdPattern} (letters, digits, '_', '.', '-'), got ${JSON.stringify(buildId)}`);
  }
}

/** A new build id: sortable by time, unique across coordinators. */
export function newBuildId(now = new Date()): string {
  const stamp = now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  const random = Math.floor(Math.random() * 0xffffff)
    .toString(16)
    .padStart(6, '0');
  return `b${stamp}-${random}`;
}

/**
 * Deterministic job ids (`<buildId>-shard-<i>`): enqueuing a build twice adds nothing twice,
 * because BullMQ ignores a job whose id already exists.
 */
export function jobIdFor(buildId: string, stage: StageName, shard?: number): string {
  if (stage === 'shard') {
    if (shard === undefined || !Number.isInteger(shard) || shard < 0) throw new TypeError(`shard index required for a shard job id, got ${shard}`);
    return `${buildId}-shard-${shard}`;
  }
  return `${buildId}-${stage}`;
}
