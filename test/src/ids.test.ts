import assert from 'node:assert/strict';
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { BuildFailedError, prepareBuild, submitBuild, waitForBuild } from '@reindex/coordinator';
import { hashStringId } from '@reindex/core';
import { CatalogueGenerator } from '@reindex/sample-catalogue';
import type { MergeResult, ShardStats } from '@reindex/pipeline';
import { allIds, compareIds, configFor, openQueues, openStore, privateRedis, readPublished, startWorkers, tempDir, type BuildSetup } from './harness.js';

const ITEMS = 2400;
const SHARDS = 3;

/** Writes generated rows with their ids replaced: `ids[i]` for row i (rows past the array keep theirs). */
async function writeRows(file: string, rows: Array<Record<string, unknown>>): Promise<void> {
  const out = createWriteStream(file);
  for (const row of rows) if (!out.write(`${JSON.stringify(row)}\n`)) await once(out, 'drain');
  out.end();
  await once(out, 'finish');
}

/** Clean rows (no generator oddities), so every rejection is the test's own. */
function cleanRows(count: number, id: (i: number) => unknown): Array<Record<string, unknown>> {
  const gen = new CatalogueGenerator();
  return [...gen.items(0, count)].map((row, i) => ({
    ...row,
    title: `item ${i} ${String(row.title ?? '')}`,
    category: 'Home/Kitchen',
    brand: 'acme',
    shop: 'shop-1',
    price: 10 + (i % 50),
    id: id(i),
  }));
}

async function build(
  t: TestContext,
  rows: Array<Record<string, unknown>>,
  config: BuildSetup['config'] = {},
): Promise<{ merge: () => Promise<MergeResult>; stats: () => Promise<ShardStats[]>; wait: Promise<unknown>; storeUrl: string }> {
  const dir = await tempDir(t);
  const redis = await privateRedis(t);
  const catalogue = path.join(dir, 'items.jsonl');
  await writeRows(catalogue, rows);
  const storeUrl = `file://${path.join(dir, 'store')}`;
  const prepared = await prepareBuild(await configFor({ catalogueUrl: catalogue, storeUrl, shardCount: SHARDS, trainSampleSize: 2000, config }));
  const store = openStore(t, storeUrl);
  const queues = openQueues(t, redis.url);
  await submitBuild(queues, store, prepared);
  await startWorkers(t, redis.url, 2);
  const wait = waitForBuild(queues, prepared.spec.buildId, prepared.plan.shardCount, undefined, 100);
  wait.catch(() => undefined);
  const { buildId } = prepared.spec;
  return {
    wait,
    storeUrl,
    merge: async () => (await queues.queues.merge.getJob(`${buildId}-merge`))!.returnvalue as MergeResult,
    stats: async () =>
      Promise.all(prepared.plan.shards.map(async (_, i) => JSON.parse((await store.get(`builds/${buildId}/shards/${i}.json`)).toString()) as ShardStats)),
  };
}

test("a string id made of the digits of another id's hash is its own item, and an integer id in a string catalogue is rejected as a mixed kind", async (t) => {
  const victim = 'sku-7';
  const forged = String(hashStringId(victim));
  const rows = cleanRows(ITEMS, (i) => `sku-${i}`);
  rows[10] = { ...rows[10]!, id: forged, title: 'forged title' };
  rows[20] = { ...rows[20]!, id: 12345 };
  const b = await build(t, rows);
  await b.wait;
  const published = await readPublished(t, openStore(t, b.storeUrl));
  const idMap = published.idMap!;
  assert.equal(idMap.lookup(hashStringId(victim)), victim, 'sku-7 keeps its faiss id');
  assert.equal(idMap.lookup(hashStringId(forged)), forged, 'the digit string is hashed like any string id');
  assert.notEqual(hashStringId(forged), hashStringId(victim));
  const merge = await b.merge();
  assert.equal(merge.rejectedByReason['id-mixed-kinds'], 1);
  assert.equal(merge.items, ITEMS - 1);
  const ids = await allIds(published.index);
  assert.deepEqual(
    compareIds(
      ids,
      rows.filter((_, i) => i !== 20).map((r) => hashStringId(r.id as string)),
    ),
    { duplicates: [], missing: [], extra: [] },
  );
});

/** Rows 0..ITEMS-1 with integer ids, where id 5 repeats within the first shard and id 7 in the last rows (another shard). */
function duplicatedRows(): Array<Record<string, unknown>> {
  const rows = cleanRows(ITEMS, (i) => i + 1000);
  rows[3] = { ...rows[3]!, id: 5 };
  rows[4] = { ...rows[4]!, id: 5 };
  rows[6] = { ...rows[6]!, id: 7 };
  rows[ITEMS - 2] = { ...rows[ITEMS - 2]!, id: 7, title: 'the last copy of seven' };
  return rows;
}

test('duplicate ids, in one shard and across shards, are rejected with both locations under the default policy', async (t) => {
  const rows = duplicatedRows();
  const b = await build(t, rows);
  await b.wait;
  const merge = await b.merge();
  assert.equal(merge.rejectedByReason['duplicate-id'], 4, JSON.stringify(merge.rejectedByReason));
  assert.equal(merge.items, ITEMS - 4);
  const stats = await b.stats();
  const examples = [...stats.flatMap((s) => s.rejectedExamples), ...(merge.crossShardRejections ?? [])].filter((r) => r.reason === 'duplicate-id');
  const fives = examples.filter((r) => r.itemId === '5');
  assert.equal(fives.length, 2);
  assert.ok(
    fives.every((r) => /also appears at items\.jsonl@byte \d+/.test(r.message)),
    JSON.stringify(fives),
  );
  assert.equal(examples.filter((r) => r.itemId === '7').length, 2, 'the cross-shard copies are reported by the merge');
  const published = await readPublished(t, openStore(t, b.storeUrl));
  const expected = rows.map((r) => BigInt(r.id as number)).filter((id) => id !== 5n && id !== 7n);
  assert.deepEqual(compareIds(await allIds(published.index), expected), { duplicates: [], missing: [], extra: [] });
  assert.ok(stats.length === SHARDS && stats[0]!.rejectedByReason['duplicate-id'] === 2, 'id 5 was resolved inside its shard');
});

test('keep-last indexes only the last copy of a duplicate id, in one shard and across shards; fail stops the build naming both copies', async (t) => {
  const rows = duplicatedRows();
  const b = await build(t, rows, { catalogue: { duplicateIds: 'keep-last' } });
  await b.wait;
  const merge = await b.merge();
  assert.equal(merge.rejectedByReason['duplicate-id'], 2);
  assert.equal(merge.items, ITEMS - 2);
  const sevens = (merge.crossShardRejections ?? []).filter((r) => r.itemId === '7');
  assert.equal(sevens.length, 1);
  const [rejectedAt, keptAt] = [/@byte (\d+)/.exec(sevens[0]!.location)![1], /again at items\.jsonl@byte (\d+)/.exec(sevens[0]!.message)![1]].map(Number);
  assert.ok(rejectedAt! < keptAt!, `the earlier copy (byte ${rejectedAt}) is rejected, the later one (byte ${keptAt}) kept`);
  const published = await readPublished(t, openStore(t, b.storeUrl));
  const expected = [...new Set(rows.map((r) => BigInt(r.id as number)))];
  assert.deepEqual(compareIds(await allIds(published.index), expected), { duplicates: [], missing: [], extra: [] });

  const failing = await build(t, rows, { catalogue: { duplicateIds: 'fail' } });
  await assert.rejects(failing.wait, (error: Error) => {
    assert.ok(error instanceof BuildFailedError, `${error.name}: ${error.message}`);
    assert.match(error.message, /item id "5" appears twice: items\.jsonl@byte \d+ and items\.jsonl@byte \d+/);
    assert.match(error.message, /failed after 1 attempt/);
    return true;
  });
});

test('a real 64-bit hash collision indexes the smaller id and rejects the other, whether the two share a shard or not', async (t) => {
  const [a, b] = ['sku-5c4bba459d17a9df', 'sku-32621596a3e345c3'];
  assert.equal(hashStringId(a), hashStringId(b), 'the pair collides');
  for (const [layout, second] of [
    ['one shard', 2],
    ['two shards', ITEMS - 3],
  ] as const) {
    const rows = cleanRows(ITEMS, (i) => `item-${i}`);
    rows[1] = { ...rows[1]!, id: a };
    rows[second] = { ...rows[second]!, id: b };
    const built = await build(t, rows);
    await built.wait;
    const merge = await built.merge();
    assert.equal(merge.rejectedByReason['id-collision'], 1, `${layout}: ${JSON.stringify(merge.rejectedByReason)}`);
    assert.equal(merge.items, ITEMS - 1, layout);
    const published = await readPublished(t, openStore(t, built.storeUrl));
    assert.equal(published.idMap!.lookup(hashStringId(a)), b, `${layout}: the smaller string is indexed`);
    const ids = await allIds(published.index);
    assert.equal(ids.filter((id) => id === hashStringId(a)).length, 1, layout);
  }
});
