import { Queue, type ConnectionOptions } from 'bullmq';
import { DEFAULT_QUEUE_PREFIX, QUEUE_NAMES, STAGES, jobIdFor, type StageName } from './topology.js';

/** Queue of `reindex schedule`'s repeatable job (one per deployment and prefix). */
export const SCHEDULE_QUEUE = 'reindex-schedule';

const PREFIX_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/** A job id of a build's stage, taken apart. */
export interface ParsedJobId {
  buildId: string;
  stage: StageName;
  shard?: number;
}

/**
 * Every Redis name reindex uses, derived from one key prefix (BullMQ's `prefix`; default
 * `reindex`), as BullMQ's own QueueKeys derives a queue's keys: queue names, job ids, the build
 * lock, worker heartbeats, schedule counters. Two deployments on one Redis with different prefixes
 * share nothing. Object-store keys have their own home (core's store-layout).
 */
export class ReindexKeys {
  constructor(readonly prefix: string = DEFAULT_QUEUE_PREFIX) {
    if (!PREFIX_PATTERN.test(prefix)) throw new TypeError(`queue prefix must match ${PREFIX_PATTERN}, got ${JSON.stringify(prefix)}`);
  }

  /** BullMQ queue name of a stage (BullMQ puts the prefix in front of its keys). */
  queueName(stage: StageName): string {
    return QUEUE_NAMES[stage];
  }

  /** Deterministic job id of a build's stage (`<buildId>-shard-<i>`, `<buildId>-merge`, ...). */
  jobId(buildId: string, stage: StageName, shard?: number): string {
    return jobIdFor(buildId, stage, shard);
  }

  /** The build, stage and shard of a job id this class made, or undefined. */
  parseJobId(jobId: string): ParsedJobId | undefined {
    const shard = /^(.+)-shard-(\d+)$/.exec(jobId);
    if (shard) return { buildId: shard[1]!, stage: 'shard', shard: Number(shard[2]) };
    const other = /^(.+)-(train|merge|publish)$/.exec(jobId);
    return other ? { buildId: other[1]!, stage: other[2] as StageName } : undefined;
  }

  /** The first shard job id named in a text (BullMQ's "child ... failed" reasons). */
  shardJobIdIn(text: string): (ParsedJobId & { jobId: string }) | undefined {
    const match = /([A-Za-z0-9_.-]+-shard-\d+)/.exec(text);
    const parsed = match ? this.parseJobId(match[1]!) : undefined;
    return parsed ? { ...parsed, jobId: match![1]! } : undefined;
  }

  /** Whether a job id belongs to a shard of `buildId`. */
  isShardOf(jobId: string | undefined, buildId: string): boolean {
    return jobId?.startsWith(`${buildId}-shard-`) === true;
  }

  /** The lock one coordinator holds per index name while it runs a build. */
  buildLock(indexName: string): string {
    return `${this.prefix}:lock:build:${indexName}`;
  }

  /** A worker's heartbeat record. */
  heartbeat(workerId: string): string {
    return `${this.prefix}:workers:${workerId}`;
  }

  /** SCAN pattern of every heartbeat. */
  heartbeatPattern(): string {
    return `${this.prefix}:workers:*`;
  }

  /** A counter of a schedule: runs started, skipped (a build was running), failed. */
  scheduleCounter(name: string, what: 'ran' | 'skipped' | 'failed'): string {
    return `${this.prefix}:schedule:${name}:${what}`;
  }

  /** Set when an operator cancels a build: workers fail its jobs as they start them. */
  cancelled(buildId: string): string {
    return `${this.prefix}:build-cancelled:${buildId}`;
  }

  /** A build's log of operator actions (newest first). */
  buildLog(buildId: string): string {
    return `${this.prefix}:build-log:${buildId}`;
  }

  /** The four stage queues on one connection (the one place they are constructed). */
  openStageQueues(connection: ConnectionOptions): Record<StageName, Queue> {
    return Object.fromEntries(STAGES.map((stage) => [stage, new Queue(this.queueName(stage), { connection, prefix: this.prefix })])) as Record<
      StageName,
      Queue
    >;
  }
}
