import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { test, type TestContext } from 'node:test';
import { Redis } from 'ioredis';
import { BuildFailedError, prepareBuild, resumeBuild, submitBuild, waitForBuild } from '@reindex/coordinator';
import { writeCatalogue } from '@reindex/sample-catalogue';
import type { S3Options } from '@reindex/core';
import { startS3FaultProxy, startS3TestServer } from '@reindex/core/testing';
import type { ShardStats } from '@reindex/pipeline';
import {
  allIds,
  assertFilesMatch,
  assertPublishedOnce,
  compareIds,
  configFor,
  defer,
  expectedCatalogue,
  openQueues,
  openStore,
  privateRedis,
  readPublished,
  startWorkers,
  tempDir,
  until,
  plannedBuild,
} from './harness.js';

const ITEMS = 60_000;
const SHARDS = 2;
const WORKER_SCRIPT = fileURLToPath(new URL('./fixtures/worker-process.js', import.meta.url));

interface ShardProgress {
  items: number;
  estimatedRows: number;
  workerId: string;
  done?: boolean;
}

/** A worker in a process of its own (so it can be SIGKILLed), once it printed `ready`. */
async function startWorkerProcess(
  t: TestContext,
  redisUrl: string,
  workerId: string,
  s3?: S3Options,
): Promise<{ child: ChildProcess; exited: Promise<unknown[]> }> {
  const child = spawn(process.execPath, [WORKER_SCRIPT, redisUrl, workerId, ...(s3 ? [JSON.stringify(s3)] : [])], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = once(child, 'exit');
  defer(t, () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  const [firstLine] = await Promise.race([
    once(createInterface({ input: child.stdout! }), 'line') as Promise<[string]>,
    exited.then(() => {
      throw new Error(`worker process ${workerId} exited before it was ready: ${stderr}`);
    }),
  ]);
  assert.equal(firstLine, 'ready');
  return { child, exited };
}

test('a worker process SIGKILLed in the middle of a shard loses it to another worker; every item is published exactly once', async (t) => {
  const { redis, prepared, store, queues, buildId } = await plannedBuild(t, { items: ITEMS, shardCount: SHARDS });
  await submitBuild(queues, store, prepared);

  // The only worker at first: a separate process, which trains and takes the first shard.
  const victimId = `victim-${process.pid}`;
  const { child: victim, exited } = await startWorkerProcess(t, redis.url, victimId);

  const { job, progress } = await until(
    'a shard in progress in the worker process',
    async () => {
      for (const active of await queues.queues.shard.getActive()) {
        const p = active.progress as ShardProgress | number;
        if (typeof p === 'object' && p.items > 0 && !p.done) return { job: active, progress: p };
      }
      return undefined;
    },
    120_000,
  );
  assert.equal(progress.workerId, victimId);
  assert.ok(progress.items < progress.estimatedRows, `killed mid-shard: ${progress.items} of ~${progress.estimatedRows} rows done`);
  victim.kill('SIGKILL');
  const [, signal] = await exited;
  assert.equal(signal, 'SIGKILL');
  const shard = Number(/-shard-(\d+)$/.exec(job.id!)![1]);
  assert.equal(await store.exists(`builds/${buildId}/shards/${shard}.json`), false, 'the killed shard had not finished');

  // A second worker, checking for stalled jobs every second, takes over and finishes.
  const [rescuer] = await startWorkers(t, redis.url, 1, { stalledIntervalMs: 1000, lockDurationMs: 10_000 });
  const result = await waitForBuild(queues, buildId, SHARDS, undefined, 200);

  const killed = await queues.queues.shard.getJob(job.id!);
  assert.ok((killed?.stalledCounter ?? 0) >= 1, `the killed shard was detected as stalled (stalledCounter ${killed?.stalledCounter})`);
  assert.equal(await killed?.getState(), 'completed');
  const stats = JSON.parse((await store.get(`builds/${buildId}/shards/${shard}.json`)).toString()) as ShardStats;
  assert.equal(stats.workerId, rescuer!.workerId, 'the second worker finished the killed shard');

  const expected = expectedCatalogue(ITEMS);
  assert.equal(result.items, expected.accepted.length);
  assert.equal(result.rejected, expected.rejected.length);
  const published = await readPublished(t, store);
  assert.equal(published.manifest.ntotal, expected.accepted.length);
  assert.deepEqual(compareIds(await allIds(published.index), expected.accepted.map(BigInt)), { duplicates: [], missing: [], extra: [] });
});

test('a worker process SIGKILLed during training, after its sample is checkpointed: the next worker trains on that sample and the build publishes every item once', async (t) => {
  const dir = await tempDir(t);
  const redis = await privateRedis(t);
  const catalogue = path.join(dir, 'catalogue.jsonl');
  const items = 40_000;
  await writeCatalogue(catalogue, { items, format: 'jsonl' });
  // A large sample and many lists make k-means (seconds) the long part after the checkpoint,
  // so the kill lands in it.
  const prepared = await prepareBuild(
    await configFor({ catalogueUrl: catalogue, storeUrl: `file://${path.join(dir, 'store')}`, shardCount: 2, factory: 'IVF512,PQ32', trainSampleSize: 38_000 }),
  );
  const { buildId } = prepared.spec;
  const store = openStore(t, prepared.spec.storeUrl);
  const queues = openQueues(t, redis.url);
  await submitBuild(queues, store, prepared);

  const { child: victim } = await startWorkerProcess(t, redis.url, `train-victim-${process.pid}`);
  await until(
    'the embedded training sample to be checkpointed',
    async () => ((await store.exists(`builds/${buildId}/train-sample.json`)) ? true : undefined),
    120_000,
    20,
  );
  assert.equal(await store.exists(`builds/${buildId}/trained.index`), false, 'killed before the trained index was uploaded');
  victim.kill('SIGKILL');
  await once(victim, 'exit');

  await startWorkers(t, redis.url, 1, { stalledIntervalMs: 1000, lockDurationMs: 10_000 });
  const result = await waitForBuild(queues, buildId, 2, undefined, 200);
  const train = await queues.queues.train.getJob(`${buildId}-train`);
  assert.ok((train?.stalledCounter ?? 0) >= 1, 'the killed train job was detected as stalled');
  assert.equal((train!.returnvalue as { sampleResumed?: boolean }).sampleResumed, true, 'the retry trained on the checkpointed sample');
  const expected = expectedCatalogue(items);
  assert.equal(result.items, expected.accepted.length);
  await assertPublishedOnce(t, store, expected.accepted);
});

test('Redis coming back empty mid-shards is noticed: the coordinator resumes the build from the store and it publishes every item once', async (t) => {
  const items = 30_000;
  const { redis, prepared, store, queues, buildId } = await plannedBuild(t, { items, shardCount: 4 });
  await submitBuild(queues, store, prepared);
  await startWorkers(t, redis.url, 2, { stalledIntervalMs: 1000, lockDurationMs: 5000 });
  const resumedWith: string[] = [];
  const waiting = waitForBuild(queues, buildId, 4, undefined, 100, { store, lostAfterMs: 2000, onResumed: (m) => resumedWith.push(m) });
  waiting.catch(() => undefined);
  await until('a shard in progress', async () => ((await queues.queues.shard.getActive()).length > 0 ? true : undefined), 120_000);
  // What a restart without persistence leaves: an empty Redis (the same server, flushed).
  const client = new Redis(redis.url);
  defer(t, () => client.quit());
  await client.flushall();
  const result = await waiting;
  assert.equal(resumedWith.length, 1, 'resumed once');
  assert.match(resumedWith[0]!, /gone from Redis/);
  const expected = expectedCatalogue(items);
  assert.equal(result.items, expected.accepted.length);
  await assertPublishedOnce(t, store, expected.accepted);
});

test('without a store to resume from, lost queue state fails the wait with the resume command instead of hanging', async (t) => {
  const { redis, prepared, store, queues } = await plannedBuild(t, { items: 2000, shardCount: 2 });
  await submitBuild(queues, store, prepared);
  const client = new Redis(redis.url);
  defer(t, () => client.quit());
  await client.flushall();
  await assert.rejects(waitForBuild(queues, prepared.spec.buildId, 2, undefined, 100, { lostAfterMs: 500 }), (error: Error) => {
    assert.match(error.message, new RegExp(`gone from Redis.*reindex --resume ${prepared.spec.buildId}`));
    return true;
  });
});

/**
 * A build whose file store (a tmpfs of `size`) breaks mid-build by `breakStore`: the build fails
 * once with `reason` (no retries), nothing is published, and after `repair` a resume publishes
 * every item once.
 */
async function storeFaultScenario(
  t: TestContext,
  o: { size: string; items: number; breakStore?: (mountPoint: string) => void; reason: RegExp; repair: (mountPoint: string) => void },
): Promise<void> {
  const dir = await tempDir(t);
  const mountPoint = path.join(dir, 'store-fs');
  await mkdir(mountPoint);
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${o.size}`, 'tmpfs', mountPoint], { stdio: 'ignore' });
  } catch {
    t.skip('cannot mount a tmpfs here (not root, or no CAP_SYS_ADMIN)');
    return;
  }
  defer(t, () => execFileSync('umount', [mountPoint]));
  const redis = await privateRedis(t);
  const catalogue = path.join(dir, 'catalogue.jsonl');
  await writeCatalogue(catalogue, { items: o.items, format: 'jsonl' });
  const storeUrl = `file://${mountPoint}`;
  const prepared = await prepareBuild(await configFor({ catalogueUrl: catalogue, storeUrl, shardCount: 2 }));
  const { buildId } = prepared.spec;
  const store = openStore(t, storeUrl);
  const queues = openQueues(t, redis.url);
  await submitBuild(queues, store, prepared);
  await startWorkers(t, redis.url, 2);
  const failed = waitForBuild(queues, buildId, 2, undefined, 100);
  failed.catch(() => undefined);
  if (o.breakStore) {
    await until('a shard in progress', async () => ((await queues.queues.shard.getActive()).length > 0 ? true : undefined), 120_000, 20);
    o.breakStore(mountPoint);
  }
  await assert.rejects(failed, (error: Error) => {
    assert.ok(error instanceof BuildFailedError, `${error.name}: ${error.message}`);
    assert.match(error.message, o.reason);
    assert.match(error.message, /failed after 1 attempt: .*not retried/);
    return true;
  });
  assert.equal(await store.exists('indexes/catalogue/LATEST'), false, 'nothing was published');
  o.repair(mountPoint);
  await resumeBuild(queues, store, buildId);
  const result = await waitForBuild(queues, buildId, 2, undefined, 100);
  const expected = expectedCatalogue(o.items);
  assert.equal(result.items, expected.accepted.length);
  await assertPublishedOnce(t, store, expected.accepted);
}

test('a file store that fills up mid-build fails the build once with that reason (no retries), and resume publishes once space is freed', async (t) => {
  // 160 KiB fills during the shard stage; the operator frees space (here: a bigger file system).
  await storeFaultScenario(t, {
    size: '160k',
    items: 4000,
    reason: /no space left on the store/,
    repair: (mountPoint) => execFileSync('mount', ['-o', 'remount,size=64m', mountPoint]),
  });
});

test('a file store that turns read-only mid-build fails the build once with that reason (no retries), and resume publishes once it is writable again', async (t) => {
  await storeFaultScenario(t, {
    size: '64m',
    items: 30_000,
    reason: /read-only/,
    breakStore: (mountPoint) => execFileSync('mount', ['-o', 'remount,ro', mountPoint]),
    repair: (mountPoint) => execFileSync('mount', ['-o', 'remount,rw', mountPoint]),
  });
});

test('workers SIGKILLed during merge uploads and again during publish, before LATEST moves, behind a faulty S3: LATEST never names an incomplete version, and the retries publish every item once', async (t) => {
  const dir = await tempDir(t);
  const s3 = await startS3TestServer(['reindex-faults']);
  defer(t, () => s3.stop());
  // Kills are triggered by the uploads themselves: the first write of a version file (merge)
  // and the write of the manifest (publish), each while the request is in flight.
  let onWrite: ((path: string) => void) | undefined;
  const proxy = await startS3FaultProxy(s3.endpoint, { slowDown: 0.03, internalError: 0.03, resetAfter: 0.02, truncatedBody: 0.03, slowBody: 0.03 }, 11, {
    onRequest: (method, requestPath) => {
      if (method !== 'GET' && method !== 'HEAD') onWrite?.(requestPath);
    },
  });
  defer(t, () => proxy.stop());
  const faulty = { ...s3.s3Options, endpoint: proxy.endpoint };
  const redis = await privateRedis(t);
  const catalogue = path.join(dir, 'catalogue.jsonl');
  const items = 6000;
  await writeCatalogue(catalogue, { items, format: 'jsonl' });
  const storeUrl = 's3://reindex-faults/kills';
  const prepared = await prepareBuild(await configFor({ catalogueUrl: catalogue, storeUrl, shardCount: 2, s3: faulty }));
  const { buildId } = prepared.spec;
  const store = openStore(t, storeUrl, s3.s3Options);
  const queues = openQueues(t, redis.url);
  await submitBuild(queues, store, prepared);

  const killWhen = async (id: string, matches: (path: string) => boolean): Promise<void> => {
    const { child, exited } = await startWorkerProcess(t, redis.url, id, faulty);
    const killed = new Promise<string>((resolve) => {
      onWrite = (requestPath) => {
        if (!matches(requestPath)) return;
        onWrite = undefined;
        child.kill('SIGKILL');
        resolve(requestPath);
      };
    });
    const at = await killed;
    await exited;
    t.diagnostic(`${id} killed while writing ${at}`);
    assert.equal(await store.exists('indexes/catalogue/LATEST'), false, `LATEST not written when ${id} died`);
  };
  const versionFile = (p: string) => p.includes('/kills/indexes/catalogue/') && !p.includes('manifest.json') && !p.includes('LATEST');
  await killWhen(`merge-victim-${process.pid}`, versionFile);
  await killWhen(`publish-victim-${process.pid}`, (p) => p.includes('/kills/indexes/catalogue/') && p.includes('manifest.json'));
  await startWorkers(t, redis.url, 1, { stalledIntervalMs: 1000, lockDurationMs: 10_000, s3: faulty });
  const result = await waitForBuild(queues, buildId, 2, undefined, 200);
  for (const stage of ['merge', 'publish'] as const) {
    const job = await queues.queues[stage].getJob(`${buildId}-${stage}`);
    assert.ok((job?.stalledCounter ?? 0) >= 1, `the killed ${stage} job was detected as stalled`);
  }
  const expected = expectedCatalogue(items);
  assert.equal(result.items, expected.accepted.length);
  const published = await assertPublishedOnce(t, store, expected.accepted);
  assert.deepEqual(assertFilesMatch(published), []);
  t.diagnostic(`requests through the proxy: ${JSON.stringify(proxy.counts)}`);
});
