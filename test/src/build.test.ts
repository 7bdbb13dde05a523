import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { ItemEmbedder, loadBundle } from '@reindex/item-tower';
import { jobIdFor } from '@reindex/queue';
import { CatalogueGenerator, writeCatalogue } from '@reindex/sample-catalogue';
import type { ShardStats } from '@reindex/pipeline';
import {
  allIds,
  assertFilesMatch,
  compareIds,
  defer,
  expectedCatalogue,
  privateRedis,
  readPublished,
  referenceModel,
  runBuild,
  skuOf,
  spread,
  tempDir,
  writeMappedJsonl,
} from './harness.js';

const ITEMS = 6000;
const SHARDS = 4;

test('a 4-shard build over 2 workers publishes every item exactly once, each findable by its own embedding', async (t) => {
  const dir = await tempDir(t);
  const redis = await privateRedis(t);
  const catalogue = path.join(dir, 'catalogue.jsonl');
  await writeCatalogue(catalogue, { items: ITEMS, format: 'jsonl' });
  const expected = expectedCatalogue(ITEMS);
  assert.ok(expected.rejected.length > 0, 'the generated catalogue carries rejectable oddities');

  const { prepared, result, store } = await runBuild(t, redis.url, {
    catalogueUrl: catalogue,
    storeUrl: `file://${path.join(dir, 'store')}`,
    shardCount: SHARDS,
  });
  const published = await readPublished(t, store);
  const { manifest, index } = published;

  // Manifest contract.
  assert.equal(published.latest.version, prepared.spec.version);
  assert.equal(manifest.name, 'catalogue');
  assert.equal(manifest.version, prepared.spec.version);
  assert.equal(manifest.buildId, prepared.spec.buildId);
  assert.equal(manifest.dim, 128);
  assert.equal(manifest.metric, 'ip');
  assert.equal(manifest.factory, prepared.spec.index.factory);
  assert.equal(manifest.modelBundleHash, (await loadBundle(await referenceModel())).contentHash);
  assert.equal(manifest.ntotal, expected.accepted.length);
  assert.equal(manifest.catalogue.source, catalogue);
  assert.equal(manifest.catalogue.items, expected.accepted.length);
  assert.equal(manifest.catalogue.rejected, expected.rejected.length);
  assert.equal(manifest.idMap, undefined, 'integer ids need no id map');
  for (const stage of ['train', 'shards', 'merge']) {
    const ms = manifest.stageTimings[stage];
    assert.ok(typeof ms === 'number' && ms >= 0, `stageTimings.${stage} in ${JSON.stringify(manifest.stageTimings)}`);
  }
  assert.deepEqual(assertFilesMatch(published), []);
  assert.equal(result.items, expected.accepted.length);
  assert.equal(result.rejected, expected.rejected.length);

  // Every accepted item exactly once, no rejected one.
  assert.equal(index.ntotal, expected.accepted.length);
  const ids = await allIds(index);
  assert.equal(ids.length, expected.accepted.length);
  assert.deepEqual(compareIds(ids, expected.accepted.map(BigInt)), { duplicates: [], missing: [], extra: [] });

  // The shards' stats account for the rejections with their locations.
  let rejected = 0;
  for (let shard = 0; shard < SHARDS; shard++) {
    const stats = JSON.parse((await store.get(`builds/${prepared.spec.buildId}/shards/${shard}.json`)).toString()) as ShardStats;
    rejected += stats.rejected;
    for (const example of stats.rejectedExamples) {
      assert.match(example.location, /catalogue\.jsonl@byte \d+$/);
      assert.ok(example.itemId === null || expected.rejected.map(String).includes(example.itemId), `rejected ${example.itemId} is a documented oddity`);
    }
  }
  assert.equal(rejected, expected.rejected.length);

  // An item's own embedding finds it first, searching every list.
  const gen = new CatalogueGenerator();
  const rejectedIds = new Set(expected.rejected);
  const sample = spread(
    Array.from({ length: ITEMS }, (_, i) => gen.item(i).item).filter((item) => !rejectedIds.has(item.id as number)),
    50,
  );
  const embedder = await ItemEmbedder.create(await referenceModel());
  defer(t, () => embedder.close());
  const embedded = await embedder.embed(sample);
  assert.equal(embedded.ids.length, sample.length);
  const nlist = index.describe().nlist!;
  const { labels } = await index.search(embedded.vectors, 1, { nprobe: nlist });
  const misses = sample.filter((item, i) => labels[i] !== BigInt(item.id as number)).map((item) => item.id);
  assert.deepEqual(misses, [], 'items whose own embedding did not rank them first');
});

test('string item ids ("SKU-000123") are hashed for faiss and the published id map maps them back', async (t) => {
  const dir = await tempDir(t);
  const redis = await privateRedis(t);
  const catalogue = path.join(dir, 'skus.jsonl');
  const items = 3000;
  await writeMappedJsonl(catalogue, items, (row) => ({ ...row, id: skuOf(row.id as number) }));
  const expected = expectedCatalogue(items);

  const { prepared, store, queues } = await runBuild(t, redis.url, { catalogueUrl: catalogue, storeUrl: `file://${path.join(dir, 'store')}`, shardCount: 3 });
  const published = await readPublished(t, store);
  assert.equal(published.manifest.idMap, 'idmap.jsonl');
  assert.ok(
    published.manifest.files.some((f) => f.path === 'idmap.jsonl'),
    "the id map is one of the version's files",
  );
  assert.deepEqual(assertFilesMatch(published), []);
  const idMap = published.idMap!;

  const ids = await allIds(published.index);
  assert.equal(ids.length, expected.accepted.length);
  const counts = new Map<string, number>();
  for (const id of ids) {
    const sku = idMap.lookup(id);
    assert.ok(sku !== undefined, `faiss id ${id} is in the id map`);
    counts.set(sku, (counts.get(sku) ?? 0) + 1);
  }
  assert.deepEqual(
    [...counts.values()].filter((n) => n !== 1),
    [],
    'each item once',
  );
  assert.deepEqual([...counts.keys()].sort(), expected.accepted.map(skuOf).sort());
  assert.equal(published.manifest.catalogue.rejected, expected.rejected.length);

  // Rejected rows of a string-id catalogue are reported with their original ids.
  const reported: Array<string | null> = [];
  for (let shard = 0; shard < 3; shard++) {
    const job = await queues.queues.shard.getJob(jobIdFor(prepared.spec.buildId, 'shard', shard));
    reported.push(...(job!.returnvalue as ShardStats).rejectedExamples.map((r) => r.itemId));
  }
  assert.deepEqual(reported.sort(), expected.rejected.map(skuOf).sort());
});
