import type { Job, Worker } from 'bullmq';
import { pino, type Logger } from 'pino';
import { STAGES, type StageName } from '@reindex/queue';

/** Structured JSON logs (pino, one object per line on stdout) for long-running processes. */
export function createLogger(name: string, bindings: Record<string, unknown> = {}): Logger {
  return pino({ name, level: process.env.LOG_LEVEL ?? 'info', base: { pid: process.pid, ...bindings } });
}

export type { Logger };

function jobFields(stage: StageName, job: Job) {
  const data = (job.data ?? {}) as { buildId?: string; shard?: number };
  return { stage, jobId: job.id, buildId: data.buildId, ...(data.shard !== undefined ? { shard: data.shard } : {}), attempt: job.attemptsMade + 1 };
}

/** Logs every job's start, completion and failure with its build id, shard and worker id. */
export function logJobEvents(workers: Record<StageName, Worker>, logger: Logger): void {
  for (const stage of STAGES) {
    const worker = workers[stage];
    worker.on('active', (job) => logger.info(jobFields(stage, job), `${stage} job started`));
    worker.on('completed', (job) => {
      const ms = job.finishedOn && job.processedOn ? job.finishedOn - job.processedOn : undefined;
      const result = job.returnvalue as { items?: number; rejected?: number } | undefined;
      logger.info(
        { ...jobFields(stage, job), attempt: job.attemptsMade, durationMs: ms, items: result?.items, rejected: result?.rejected },
        `${stage} job completed`,
      );
    });
    worker.on('failed', (job, error) => {
      if (!job) return logger.error({ stage, err: error.message }, `${stage} job failed`);
      const willRetry = job.attemptsMade < (job.opts.attempts ?? 1) && error.name !== 'UnrecoverableError';
      logger[willRetry ? 'warn' : 'error'](
        { ...jobFields(stage, job), attempt: job.attemptsMade, willRetry, err: error.message },
        `${stage} job failed${willRetry ? ', will retry' : ' for good'}`,
      );
    });
  }
}
