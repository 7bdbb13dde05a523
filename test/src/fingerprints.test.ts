import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { DEFAULT_CONFIG, createPrng, openCatalogue, planShards } from '@reindex/core';
import { FINGERPRINTS_FILE, decodeFingerprints, fingerprintSpec, itemFingerprint } from '@reindex/pipeline';
import { CatalogueGenerator } from '@reindex/sample-catalogue';
import { allIds, compareIds, expectedCatalogue, privateRedis, readPublished, runBuild, tempDir } from './harness.js';

const ITEMS = 3000;

/** The fingerprints a version published, by faiss id. */
function fingerprintsOf(published: Awaited<ReturnType<typeof readPublished>>): Map<bigint, bigint> {
  const body = published.files.get(FINGERPRINTS_FILE);
  assert.ok(body, `the manifest lists ${FINGERPRINTS_FILE}: ${JSON.stringify(published.manifest.files.map((f) => f.path))}`);
  const { ids, fingerprints } = decodeFingerprints(body, FINGERPRINTS_FILE);
  return new Map([...ids].map((id, i) => [id, fingerprints[i]!]));
}

test('each version publishes one fingerprint per indexed item; two nights of a reordered export differ exactly in the changed, deleted and new items', async (t) => {
  const dir = await tempDir(t);
  const redis = await privateRedis(t);
  const storeUrl = `file://${path.join(dir, 'store')}`;
  const rows = [...new CatalogueGenerator().items(0, ITEMS)];
  const night1 = path.join(dir, 'night1.jsonl');
  await writeFile(night1, rows.map((r) => `${JSON.stringify(r)}\n`).join(''));

  const { store } = await runBuild(t, redis.url, { catalogueUrl: night1, storeUrl, shardCount: 3 });
  const first = await readPublished(t, store);
  const before = fingerprintsOf(first);
  // Exactly the index's ids, each once (sorted by construction: decodeFingerprints checks it).
  const indexed = await allIds(first.index);
  assert.deepEqual(compareIds(indexed, [...before.keys()]), { duplicates: [], missing: [], extra: [] });
  assert.deepEqual(compareIds([...before.keys()], expectedCatalogue(ITEMS).accepted.map(BigInt)), { duplicates: [], missing: [], extra: [] });
  // And each is the fingerprint of its row as the catalogue reader gives it to the shard.
  const spec = fingerprintSpec(DEFAULT_CONFIG.catalogue.fields, first.manifest.modelBundleHash, false);
  const catalogue = await openCatalogue(night1);
  let checked = 0;
  try {
    const plan = await planShards(catalogue, 1);
    for await (const batch of catalogue.readShard(plan.shards[0]!)) {
      for (const row of batch.rows) {
        const expected = before.get(BigInt(row.value.id as number));
        if (expected === undefined) continue;
        assert.equal(itemFingerprint(row.value, spec), expected, `item ${String(row.value.id)}`);
        checked++;
      }
    }
  } finally {
    await catalogue.close();
  }
  assert.equal(checked, before.size);

  // Night 2: the export comes in another row order, 5 titles changed, 3 items gone, 4 new.
  const accepted = expectedCatalogue(ITEMS).accepted;
  const changed = new Set(accepted.slice(10, 15));
  const deleted = new Set(accepted.slice(100, 103));
  const added = [900_001, 900_002, 900_003, 900_004];
  const night2Rows = rows
    .filter((r) => !deleted.has(r.id as number))
    .map((r) => (changed.has(r.id as number) ? { ...r, title: `${String(r.title)} (new season)` } : r));
  for (const id of added) night2Rows.push({ ...rows[0]!, id, title: `new item ${id}` });
  const random = createPrng(7);
  for (let i = night2Rows.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [night2Rows[i], night2Rows[j]] = [night2Rows[j]!, night2Rows[i]!];
  }
  const night2 = path.join(dir, 'night2.jsonl');
  await writeFile(night2, night2Rows.map((r) => `${JSON.stringify(r)}\n`).join(''));
  await runBuild(t, redis.url, { catalogueUrl: night2, storeUrl, shardCount: 4 });
  const after = fingerprintsOf(await readPublished(t, store));

  const gone = [...before.keys()].filter((id) => !after.has(id)).map(Number);
  const fresh = [...after.keys()].filter((id) => !before.has(id)).map(Number);
  const differ = [...after.keys()].filter((id) => before.has(id) && before.get(id) !== after.get(id)).map(Number);
  assert.deepEqual(gone.sort(), [...deleted].sort());
  assert.deepEqual(fresh.sort(), added);
  assert.deepEqual(differ.sort(), [...changed].sort());
});
