import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Job } from 'bullmq';
import { submitBuild, waitForBuild } from '@reindex/coordinator';
import { jobIdFor } from '@reindex/queue';
import { listVersions, type BuildQueues, type ShardStats } from '@reindex/pipeline';
import { allIds, compareIds, expectedCatalogue, readPublished, startWorkers, until, plannedBuild } from './harness.js';

const ITEMS = 4000;
const SHARDS = 4;
const ALL_STATES = ['completed', 'failed', 'active', 'waiting', 'waiting-children', 'delayed', 'prioritized'] as const;

async function jobsOf(queues: BuildQueues, stage: 'train' | 'shard' | 'merge' | 'publish', buildId: string): Promise<Job[]> {
  const jobs = await queues.queues[stage].getJobs([...ALL_STATES]);
  return jobs.filter((j) => j.id?.startsWith(`${buildId}-`));
}

test('submitting the same build again, before, during and after it runs, does no work twice', async (t) => {
  const { redis, prepared, store, queues, buildId } = await plannedBuild(t, { items: ITEMS, shardCount: SHARDS });

  // Twice before any worker runs: one train job.
  await submitBuild(queues, store, prepared);
  await submitBuild(queues, store, prepared);
  assert.deepEqual(
    (await jobsOf(queues, 'train', buildId)).map((j) => j.id),
    [jobIdFor(buildId, 'train')],
  );

  await startWorkers(t, redis.url, 2);
  // Again while the shards run (the fan-out exists, the train job has completed).
  await until('the fan-out', async () => ((await jobsOf(queues, 'shard', buildId)).length > 0 ? true : undefined));
  await submitBuild(queues, store, prepared);
  await waitForBuild(queues, buildId, SHARDS, undefined, 100);

  const snapshot = async () => ({
    train: (await jobsOf(queues, 'train', buildId)).map((j) => ({
      id: j.id,
      attemptsStarted: j.attemptsStarted,
      processedOn: j.processedOn,
      finishedOn: j.finishedOn,
    })),
    shards: (await jobsOf(queues, 'shard', buildId))
      .map((j) => ({ id: j.id, attemptsStarted: j.attemptsStarted, attemptsMade: j.attemptsMade, processedOn: j.processedOn, finishedOn: j.finishedOn }))
      .sort((a, b) => String(a.id).localeCompare(String(b.id))),
    merge: (await jobsOf(queues, 'merge', buildId)).map((j) => ({ id: j.id, attemptsStarted: j.attemptsStarted, processedOn: j.processedOn })),
    publish: (await jobsOf(queues, 'publish', buildId)).map((j) => ({ id: j.id, attemptsStarted: j.attemptsStarted, processedOn: j.processedOn })),
    stats: await Promise.all(
      Array.from({ length: SHARDS }, async (_, i) => {
        const s = JSON.parse((await store.get(`builds/${buildId}/shards/${i}.json`)).toString()) as ShardStats;
        return { startedAt: s.startedAt, finishedAt: s.finishedAt, workerId: s.workerId };
      }),
    ),
    latest: (await store.get('indexes/catalogue/LATEST')).toString(),
    versions: await listVersions(store, 'catalogue'),
  });
  const before = await snapshot();
  assert.equal(before.shards.length, SHARDS, 'the shard queue holds exactly one job per shard of the build');
  for (const shard of before.shards) {
    assert.equal(shard.attemptsStarted, 1, `${shard.id} started once`);
    assert.equal(shard.attemptsMade, 1, `${shard.id} ran once`);
  }
  assert.equal(before.train[0]?.attemptsStarted, 1);
  assert.equal(before.merge[0]?.attemptsStarted, 1);
  assert.equal(before.publish[0]?.attemptsStarted, 1);
  assert.deepEqual(before.versions, [prepared.spec.version]);

  // Again after it completed, with the workers still listening: nothing is enqueued or rerun.
  await submitBuild(queues, store, prepared);
  await queues.enqueueFanOut({ buildId, storeUrl: prepared.spec.storeUrl }, SHARDS);
  const counts = await Promise.all(
    (['train', 'shard', 'merge', 'publish'] as const).map((s) =>
      queues.queues[s].getJobCounts('waiting', 'active', 'delayed', 'waiting-children', 'prioritized'),
    ),
  );
  assert.deepEqual(
    counts.map((c) => Object.values(c).reduce((a, b) => a + b, 0)),
    [0, 0, 0, 0],
    'no job waits or runs after the repeat submission',
  );
  await new Promise((resolve) => setTimeout(resolve, 1500)); // give idle workers a chance to (wrongly) pick something up
  assert.deepEqual(await snapshot(), before);

  const published = await readPublished(t, store);
  const expected = expectedCatalogue(ITEMS);
  assert.deepEqual(compareIds(await allIds(published.index), expected.accepted.map(BigInt)), { duplicates: [], missing: [], extra: [] });
});

test('merge and publish run again after their jobs were lost reuse the verified merge and the measured quality report', async (t) => {
  const { redis, prepared, store, queues, buildId } = await plannedBuild(t, { items: 4000, shardCount: 2 });
  await submitBuild(queues, store, prepared);
  await startWorkers(t, redis.url, 2);
  const first = await waitForBuild(queues, buildId, 2, undefined, 100);
  const firstMerge = (await queues.queues.merge.getJob(jobIdFor(buildId, 'merge')))!.returnvalue as { mergeMs: number; files: unknown };
  const firstQuality = JSON.parse((await store.get(`builds/${buildId}/quality.json`)).toString()) as { report: { measureMs: number } };

  // The flow's jobs are lost (as after a worker died mid-publish and an operator re-ran it):
  // the train job finds its trained index and only re-adds the fan-out.
  await (await queues.queues.publish.getJob(jobIdFor(buildId, 'publish')))!.remove({ removeChildren: true });
  await (await queues.queues.train.getJob(jobIdFor(buildId, 'train')))!.remove();
  await queues.enqueueTrain({ buildId, storeUrl: prepared.spec.storeUrl });
  const second = await waitForBuild(queues, buildId, 2, undefined, 100);
  const secondMerge = (await queues.queues.merge.getJob(jobIdFor(buildId, 'merge')))!.returnvalue as { mergeMs: number; files: unknown };
  assert.equal(secondMerge.mergeMs, firstMerge.mergeMs, 'the merge record was reused, not merged again');
  assert.deepEqual(secondMerge.files, firstMerge.files);
  const secondQuality = JSON.parse((await store.get(`builds/${buildId}/quality.json`)).toString()) as { report: { measureMs: number } };
  assert.equal(secondQuality.report.measureMs, firstQuality.report.measureMs, 'the quality report was reused, not measured again');
  assert.equal(second.version, first.version);
  const published = await readPublished(t, store);
  const expected = expectedCatalogue(4000);
  assert.deepEqual(compareIds(await allIds(published.index), expected.accepted.map(BigInt)), { duplicates: [], missing: [], extra: [] });
});
