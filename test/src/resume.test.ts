import assert from 'node:assert/strict';
import { appendFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { runBuild as runCli } from '@reindex/cli';
import { BuildFailedError, prepareBuild, submitBuild, waitForBuild } from '@reindex/coordinator';
import { shardKey } from '@reindex/core';
import { jobIdFor } from '@reindex/queue';
import { CatalogueGenerator } from '@reindex/sample-catalogue';
import type { ShardStats } from '@reindex/pipeline';
import {
  allIds,
  compareIds,
  configFor,
  expectedCatalogue,
  openQueues,
  openStore,
  privateRedis,
  readPublished,
  startWorkers,
  tempDir,
  until,
} from './harness.js';

const ITEMS = 2000;
const SHARDS = 4;
const silent = { log: () => undefined, update: () => undefined, clear: () => undefined } as never;

test('reindex --resume continues a failed build, reusing every shard that finished', async (t) => {
  const dir = await tempDir(t);
  const redis = await privateRedis(t);
  // Two catalogue files, ids 0..1999 and 100000..101999; the planner gives each two shards.
  const catalogueDir = path.join(dir, 'catalogue');
  await mkdir(catalogueDir);
  const a = path.join(catalogueDir, 'a.jsonl');
  const b = path.join(catalogueDir, 'b.jsonl');
  const lines = (offset: number) => expectedCatalogueLines(ITEMS, offset);
  await writeFile(a, await lines(0));
  await writeFile(b, await lines(100_000));
  const storeUrl = `file://${path.join(dir, 'store')}`;
  const prepared = await prepareBuild(await configFor({ catalogueUrl: catalogueDir, storeUrl, shardCount: SHARDS }));
  const { buildId } = prepared.spec;
  const store = openStore(t, storeUrl);
  const queues = openQueues(t, redis.url);
  await submitBuild(queues, store, prepared);

  // Training runs on the catalogue as planned; the shard queue is held until the fan-out exists.
  await queues.queues.shard.pause();
  await startWorkers(t, redis.url, 2);
  await until('the fan-out', async () => ((await queues.queues.merge.getJob(jobIdFor(buildId, 'merge'))) ? true : undefined));
  // Then b.jsonl changes behind the plan's back: its shards fail at once (no retry can help), the build fails.
  const original = await readFile(b);
  await appendFile(b, '{"id": 999999, "title": "added after the plan"}\n');
  await queues.queues.shard.resume();
  await assert.rejects(
    waitForBuild(queues, buildId, SHARDS, undefined, 100),
    (e: Error) => e instanceof BuildFailedError && /shard \d+ failed after 1 attempt: .*b\.jsonl.*not retried/.test(e.message),
  );
  // The build fails as soon as a shard of b.jsonl does; the shards of a.jsonl finish on their own.
  const intact = prepared.plan.shards.filter((s) => !s.parts.some((p) => p.file.endsWith('b.jsonl'))).map((s) => s.index);
  assert.ok(intact.length >= 1 && intact.length < SHARDS);
  await until('the shards of a.jsonl to finish', async () => {
    const states = await Promise.all(intact.map(async (i) => (await queues.queues.shard.getJob(jobIdFor(buildId, 'shard', i)))?.getState()));
    return states.every((state) => state === 'completed') ? true : undefined;
  });
  const finishedBefore = new Map<number, ShardStats>();
  for (let i = 0; i < SHARDS; i++) {
    const raw = await store.get(shardKey(buildId, i, 'json')).catch(() => undefined);
    if (raw) finishedBefore.set(i, JSON.parse(raw.toString('utf8')) as ShardStats);
  }
  assert.ok(finishedBefore.size >= 1 && finishedBefore.size < SHARDS, `${finishedBefore.size} shards finished before the failure`);
  assert.equal(await store.exists(`indexes/catalogue/LATEST`), false, 'nothing was published');

  // The file is fixed; a new coordinator resumes the build by id.
  await writeFile(b, original);
  const summary = await runCli({ resume: buildId, redis: redis.url, store: storeUrl, workers: 1, dryRun: false, json: true }, silent);
  assert.equal(summary.buildId, buildId);

  // The shards that had finished were reused as they were, not run again.
  for (const [i, before] of finishedBefore) {
    const after = JSON.parse((await store.get(shardKey(buildId, i, 'json'))).toString('utf8')) as ShardStats;
    assert.equal(after.startedAt, before.startedAt, `shard ${i} ran again`);
    assert.equal(after.index.sha256, before.index.sha256);
  }
  // And the published index holds every accepted item of both files exactly once.
  const published = await readPublished(t, store);
  const expected = [...expectedCatalogue(ITEMS).accepted.map((id) => BigInt(id)), ...expectedCatalogue(ITEMS).accepted.map((id) => BigInt(id + 100_000))];
  const diff = compareIds(await allIds(published.index), expected);
  assert.deepEqual(diff, { duplicates: [], missing: [], extra: [] });
});

/** A generated catalogue as JSONL text, ids shifted by `offset`. */
async function expectedCatalogueLines(items: number, offset: number): Promise<string> {
  const gen = new CatalogueGenerator();
  let text = '';
  for (const row of gen.items(0, items)) text += `${JSON.stringify({ ...row, id: (row.id as number) + offset })}\n`;
  return text;
}
