import assert from 'node:assert/strict';
import { mkdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { writeCatalogue } from '@reindex/sample-catalogue';
import { REPO_ROOT, defer, privateRedis, readPublished, runBuild, runCli, tempDir } from './harness.js';

test('retention prunes build intermediates: publish spares only its own build, reindex gc prunes the rest and the search cache; JSON records stay', async (t) => {
  const dir = await tempDir(t);
  const catalogue = path.join(dir, 'catalogue.jsonl');
  await writeCatalogue(catalogue, { items: 3000, format: 'jsonl' });
  const redis = await privateRedis(t);
  const storeUrl = `file://${path.join(dir, 'store')}`;
  const name = `retention-${process.pid}`;
  const first = await runBuild(t, redis.url, { catalogueUrl: catalogue, storeUrl, shardCount: 2, name });
  const { store } = first;
  const bulky = async (buildId: string) => (await store.listObjects(`builds/${buildId}/`)).filter((o) => !o.key.endsWith('.json'));
  const records = async (buildId: string) => (await store.list(`builds/${buildId}/`)).filter((k) => k.endsWith('.json'));
  const a = first.prepared.spec.buildId;
  assert.ok((await bulky(a)).length > 0, 'the build just published keeps its intermediates (a re-run of its jobs reuses them)');
  const recordsOfA = await records(a);

  const second = await runBuild(t, redis.url, { catalogueUrl: catalogue, storeUrl, shardCount: 2, name });
  const b = second.prepared.spec.buildId;
  assert.deepEqual(await bulky(a), [], 'the next publish pruned the earlier build');
  assert.deepEqual(await records(a), recordsOfA, 'its JSON records (spec, plan, shard stats, quality) stay as history');
  assert.ok((await bulky(b)).length > 0);
  const bytesOfB = (await bulky(b)).reduce((s, o) => s + o.size, 0);

  // A search cache entry for a version the store no longer has (and one it has).
  const cache = path.join(REPO_ROOT, 'var/cache', name);
  defer(t, () => import('node:fs/promises').then((fs) => fs.rm(cache, { recursive: true, force: true })));
  await mkdir(path.join(cache, '19700101T000000Z-gone'), { recursive: true });
  const search = await runCli(['search', 'red shirt', '--store', storeUrl, '--name', name]);
  assert.equal(search.code, 0, search.stderr);
  await mkdir(path.join(cache, '19700101T000000Z-gone'), { recursive: true });
  const gc = await runCli(['gc', '--store', storeUrl, '--name', name, '--keep', '5', '--json']);
  assert.equal(gc.code, 0, gc.stderr);
  const result = JSON.parse(gc.stdout.trim().split('\n').at(-1)!) as { deleted: string[]; prunedBuilds: string[]; prunedBytes: number; cacheRemoved: string[] };
  assert.deepEqual(result.deleted, []);
  assert.deepEqual(result.prunedBuilds, [b]);
  assert.equal(result.prunedBytes, bytesOfB);
  assert.deepEqual(result.cacheRemoved, ['19700101T000000Z-gone']);
  assert.ok(await stat(path.join(cache, second.prepared.spec.version)), 'the cached LATEST stays');
  // The published versions are untouched: LATEST still loads and verifies.
  const published = await readPublished(t, store, name);
  assert.equal(published.manifest.buildId, b);
});
