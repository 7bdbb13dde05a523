import { FlowProducer, type Queue } from 'bullmq';
import { DEFAULT_QUEUE_PREFIX, QUEUE_NAMES, ReindexKeys, jobIdFor, redisOptionsFromUrl, type StageName, type TrainJobData } from '@reindex/queue';

/** Retries of a failed job: exponential backoff from 2 s, 4 attempts in all. */
export const JOB_ATTEMPTS = 4;
export const JOB_BACKOFF = Object.freeze({ type: 'exponential', delay: 2_000 } as const);

/** The queues of the pipeline and the flow producer that fans a build out. */
export class BuildQueues {
  readonly queues: Record<StageName, Queue>;
  readonly flows: FlowProducer;
  /** Every queue name, job id and key of this deployment's prefix. */
  readonly keys: ReindexKeys;

  constructor(
    readonly redisUrl: string,
    readonly prefix = DEFAULT_QUEUE_PREFIX,
  ) {
    const connection = redisOptionsFromUrl(redisUrl);
    this.keys = new ReindexKeys(prefix);
    this.queues = this.keys.openStageQueues(connection);
    this.flows = new FlowProducer({ connection, prefix });
  }

  /** Adds the train job of a build; a second call for the same build adds nothing. */
  async enqueueTrain(data: TrainJobData): Promise<void> {
    await this.queues.train.add('train', data, {
      jobId: jobIdFor(data.buildId, 'train'),
      attempts: JOB_ATTEMPTS,
      backoff: JOB_BACKOFF,
    });
  }

  /**
   * Adds publish ← merge ← shard 0..N-1 as one BullMQ flow: the merge runs once every shard
   * succeeded, the publish once the merge did, whatever happens to the process that added it.
   * A shard that fails for good fails its parents (failParentOnFailure), so the build fails
   * with that shard named. Idempotent: once the publish job exists, nothing is added.
   */
  async enqueueFanOut(data: TrainJobData, shardCount: number): Promise<void> {
    if (await this.queues.publish.getJob(jobIdFor(data.buildId, 'publish'))) return;
    const retry = { attempts: JOB_ATTEMPTS, backoff: JOB_BACKOFF };
    await this.flows.add({
      name: 'publish',
      queueName: QUEUE_NAMES.publish,
      data,
      opts: { jobId: jobIdFor(data.buildId, 'publish'), ...retry },
      children: [
        {
          name: 'merge',
          queueName: QUEUE_NAMES.merge,
          data,
          opts: { jobId: jobIdFor(data.buildId, 'merge'), failParentOnFailure: true, ...retry },
          children: Array.from({ length: shardCount }, (_, shard) => ({
            name: 'shard',
            queueName: QUEUE_NAMES.shard,
            data: { ...data, shard },
            opts: { jobId: jobIdFor(data.buildId, 'shard', shard), failParentOnFailure: true, ...retry },
          })),
        },
      ],
    });
  }

  async close(): Promise<void> {
    await Promise.all([...Object.values(this.queues).map((q) => q.close()), this.flows.close()]);
  }
}
