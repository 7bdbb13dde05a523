import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { createPrng } from '@reindex/core';
import { FINGERPRINTS_FILE, INDEX_FILE, decodeFingerprints } from '@reindex/pipeline';
import { CatalogueGenerator } from '@reindex/sample-catalogue';
import { REPO_ROOT, allIds, compareIds, expectedCatalogue, privateRedis, readPublished, runBuild, tempDir } from './harness.js';

const ITEMS = 3000;

function shuffled<T>(rows: T[], seed: number): T[] {
  const out = [...rows];
  const random = createPrng(seed);
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

test('an incremental night embeds only new and changed items, carries the rest, and publishes exactly the ids of the new catalogue', async (t) => {
  const dir = await tempDir(t);
  const redis = await privateRedis(t);
  const storeUrl = `file://${path.join(dir, 'store')}`;
  const config = { incremental: 'auto' as const };
  const rows = [...new CatalogueGenerator().items(0, ITEMS)];
  const write = async (name: string, items: Record<string, unknown>[]) => {
    const file = path.join(dir, name);
    await writeFile(file, items.map((r) => `${JSON.stringify(r)}\n`).join(''));
    return file;
  };

  // Night 1: nothing to start from, a full build that says so.
  const night1 = await runBuild(t, redis.url, { catalogueUrl: await write('night1.jsonl', rows), storeUrl, shardCount: 3, config });
  assert.equal(night1.prepared.spec.fullBuildReason, 'no previous version');
  const base = await readPublished(t, night1.store);
  assert.deepEqual(base.manifest.build, { mode: 'full', reason: 'no previous version' });

  // Night 2: a reordered export, 40 titles changed, 20 items gone, 30 new.
  const accepted = expectedCatalogue(ITEMS).accepted;
  const changed = new Set(accepted.slice(0, 40));
  const deleted = new Set(accepted.slice(1000, 1020));
  const added = Array.from({ length: 30 }, (_, i) => 900_000 + i);
  const template = rows.find((r) => r.id === accepted[5])!;
  const night2Rows = shuffled(
    [
      ...rows.filter((r) => !deleted.has(r.id as number)).map((r) => (changed.has(r.id as number) ? { ...r, title: `${String(r.title)} limited edition` } : r)),
      ...added.map((id) => ({ ...template, id, title: `new arrival ${id} linen dress` })),
    ],
    11,
  );
  const night2 = await runBuild(t, redis.url, { catalogueUrl: await write('night2.jsonl', night2Rows), storeUrl, shardCount: 4, config });
  assert.equal(night2.prepared.spec.incremental?.version, base.manifest.version);
  const published = await readPublished(t, night2.store);
  const expectedIds = [...accepted.filter((id) => !deleted.has(id)), ...added].map(BigInt);
  assert.deepEqual(compareIds(await allIds(published.index), expectedIds), { duplicates: [], missing: [], extra: [] });
  assert.deepEqual(published.manifest.build, {
    mode: 'incremental',
    baseVersion: base.manifest.version,
    carried: accepted.length - changed.size - deleted.size,
    changed: changed.size,
    added: added.length,
    deleted: deleted.size,
  });
  // Only the new and changed items went through the item tower.
  const shardItems = night2.result.items - (published.manifest.build as { carried: number }).carried;
  assert.equal(shardItems, changed.size + added.length);
  // The fingerprints are those of the new catalogue: a full build would publish the same file.
  const fingerprints = decodeFingerprints(published.files.get(FINGERPRINTS_FILE)!, FINGERPRINTS_FILE);
  assert.equal(fingerprints.ids.length, expectedIds.length);
  // And the quality gate measured it against exact lists (the base's, less what left, plus the new items').
  const quality = published.manifest.quality as { measured: boolean; recallAt10: number; gate: { passed: boolean } };
  assert.equal(quality.measured, true);
  assert.equal(quality.gate.passed, true);

  // Night 3: nothing changed (another row order): every item is carried, the index is the base's, byte for byte.
  const night3 = await runBuild(t, redis.url, { catalogueUrl: await write('night3.jsonl', shuffled(night2Rows, 12)), storeUrl, shardCount: 2, config });
  const unchanged = await readPublished(t, night3.store);
  assert.deepEqual(unchanged.manifest.build, {
    mode: 'incremental',
    baseVersion: published.manifest.version,
    carried: expectedIds.length,
    changed: 0,
    added: 0,
    deleted: 0,
  });
  assert.ok(unchanged.files.get(INDEX_FILE)!.equals(published.files.get(INDEX_FILE)!), 'the same index bytes');

  // `reindex status` says how each version was built.
  const status = JSON.parse(
    execFileSync(process.execPath, [path.join(REPO_ROOT, 'packages/cli/dist/main.js'), 'status', '--store', storeUrl, '--json'], { encoding: 'utf8' })
      .trim()
      .split('\n')
      .at(-1)!,
  ) as { versions: Array<{ version: string; build?: { mode: string } }> };
  const modeOf = new Map(status.versions.map((v) => [v.version, v.build?.mode]));
  assert.deepEqual(
    [base, published, unchanged].map((p) => modeOf.get(p.manifest.version)),
    ['full', 'incremental', 'incremental'],
  );
});

test('incremental chains survive retention, re-embed an item deleted and re-added or changed back, and fall back to a full build saying why', async (t) => {
  const dir = await tempDir(t);
  const redis = await privateRedis(t);
  const storeUrl = `file://${path.join(dir, 'store')}`;
  const config = { incremental: 'auto' as const, keepVersions: 1 };
  const rows = [...new CatalogueGenerator().items(0, 2000)];
  const accepted = expectedCatalogue(2000).accepted;
  const [gone, edited] = [accepted[3]!, accepted[4]!];
  let night = 0;
  const build = async (items: Record<string, unknown>[], extra: { factory?: string } = {}) => {
    const file = path.join(dir, `night${++night}.jsonl`);
    await writeFile(file, items.map((r) => `${JSON.stringify(r)}\n`).join(''));
    const done = await runBuild(t, redis.url, { catalogueUrl: file, storeUrl, shardCount: 2, config, ...extra });
    return { done, published: await readPublished(t, done.store) };
  };

  const first = await build(rows);
  const second = await build(rows.filter((r) => r.id !== gone).map((r) => (r.id === edited ? { ...r, title: 'a title for one night' } : r)));
  assert.equal((second.published.manifest.build as { mode: string }).mode, 'incremental');
  // keepVersions 1: the base is gone once the new version is published; nothing depends on it.
  assert.equal(await second.done.store.exists(`indexes/catalogue/${first.published.manifest.version}/manifest.json`), false);

  // The item comes back as it was, and the edit is undone: both are embedded again.
  const third = await build(rows);
  assert.deepEqual(third.published.manifest.build, {
    mode: 'incremental',
    baseVersion: second.published.manifest.version,
    carried: accepted.length - 2,
    changed: 1,
    added: 1,
    deleted: 0,
  });
  assert.deepEqual(compareIds(await allIds(third.published.index), accepted.map(BigInt)), { duplicates: [], missing: [], extra: [] });
  // Its fingerprints equal the first night's: the same catalogue, the same content.
  assert.ok(third.published.files.get(FINGERPRINTS_FILE)!.equals(first.published.files.get(FINGERPRINTS_FILE)!));

  // Another index factory: a full build, and why.
  const fourth = await build(rows, { factory: 'IVF16,PQ16' });
  assert.deepEqual(fourth.published.manifest.build, { mode: 'full', reason: 'factory changed (IVF32,PQ16 → IVF16,PQ16)' });

  // A base whose file no longer matches its manifest is never started from.
  const key = `indexes/catalogue/${fourth.published.manifest.version}/${FINGERPRINTS_FILE}`;
  const body = Buffer.from(await fourth.done.store.get(key));
  body[body.length - 1] = body[body.length - 1]! ^ 0xff;
  await fourth.done.store.put(key, body);
  const fifth = await build(rows, { factory: 'IVF16,PQ16' });
  const reason = (fifth.published.manifest.build as { reason?: string }).reason ?? '';
  assert.match(reason, new RegExp(`^${fourth.published.manifest.version} does not verify: .*${FINGERPRINTS_FILE}`));
});
