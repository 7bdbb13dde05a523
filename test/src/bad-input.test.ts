import assert from 'node:assert/strict';
import { copyFile, cp, readFile, stat, truncate, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { BuildFailedError, prepareBuild, submitBuild, waitForBuild } from '@reindex/coordinator';
import { CatalogueError } from '@reindex/core';
import { writeCatalogue } from '@reindex/sample-catalogue';
import { listVersions, type ShardStats } from '@reindex/pipeline';
import {
  allIds,
  compareIds,
  configFor,
  expectedCatalogue,
  openQueues,
  openStore,
  privateRedis,
  readPublished,
  referenceModel,
  runBuild,
  startWorkers,
  tempDir,
  writeMappedJsonl,
} from './harness.js';

test('malformed JSONL lines are rejected with their location and the build still publishes everything else', async (t) => {
  const dir = await tempDir(t);
  const redis = await privateRedis(t);
  const items = 2000;
  const good = path.join(dir, 'good.jsonl');
  await writeCatalogue(good, { items, format: 'jsonl' });
  const lines = (await readFile(good, 'utf8')).split('\n');
  const broken = ['{"id": 999999, "title": "cut off', 'not json at all', '{"id": 999998,, "title": "x"}'];
  const at = [100, 900, 1700];
  at.forEach((line, i) => {
    lines.splice(line + i, 0, broken[i]!);
  });
  const text = lines.join('\n');
  const catalogue = path.join(dir, 'bad.jsonl');
  await writeFile(catalogue, text);
  const offsets = broken.map((line) => Buffer.byteLength(text.slice(0, text.indexOf(`\n${line}\n`) + 1)));

  const { prepared, result, store } = await runBuild(t, redis.url, { catalogueUrl: catalogue, storeUrl: `file://${path.join(dir, 'store')}`, shardCount: 2 });
  const expected = expectedCatalogue(items);
  assert.equal(result.rejected, expected.rejected.length + broken.length);
  const published = await readPublished(t, store);
  assert.equal(published.manifest.catalogue.rejected, expected.rejected.length + broken.length);
  assert.equal(published.manifest.catalogue.items, expected.accepted.length);
  assert.deepEqual(compareIds(await allIds(published.index), expected.accepted.map(BigInt)), { duplicates: [], missing: [], extra: [] });

  const malformed: string[] = [];
  let byReason = 0;
  for (let shard = 0; shard < 2; shard++) {
    const stats = JSON.parse((await store.get(`builds/${prepared.spec.buildId}/shards/${shard}.json`)).toString()) as ShardStats;
    byReason += stats.rejectedByReason['malformed-row'] ?? 0;
    malformed.push(...stats.rejectedExamples.filter((r) => r.reason === 'malformed-row').map((r) => r.location));
  }
  assert.equal(byReason, broken.length);
  assert.deepEqual(malformed.sort(), offsets.map((o) => `bad.jsonl@byte ${o}`).sort());
  // The build's report names them by line, across both shards' byte ranges.
  const report = JSON.parse((await store.get(`builds/${prepared.spec.buildId}/rejections.json`)).toString()) as {
    rejected: number;
    examples: Array<{ location: string; reason: string; itemId: string | null }>;
  };
  assert.equal(report.rejected, expected.rejected.length + broken.length);
  const lineOf = (line: string) => text.split('\n').indexOf(line) + 1;
  assert.deepEqual(
    report.examples
      .filter((r) => r.reason === 'malformed-row')
      .map((r) => r.location)
      .sort(),
    broken.map((l) => `bad.jsonl:${lineOf(l)}`).sort(),
  );
  const textLines = text.split('\n');
  for (const r of report.examples.filter((e) => e.reason !== 'malformed-row')) {
    const line = Number(/^bad\.jsonl:(\d+)$/.exec(r.location)?.[1]);
    assert.ok(line > 0 && textLines[line - 1]!.includes(`"id":${r.itemId}`), `${r.location} is the line of item ${r.itemId}`);
  }
});

test('a truncated Parquet file fails planning with the file named; nothing is submitted', async (t) => {
  const dir = await tempDir(t);
  const catalogue = path.join(dir, 'items.parquet');
  await writeCatalogue(catalogue, { items: 2000, format: 'parquet', rowGroupSize: 500 });
  const { size } = await stat(catalogue);
  await truncate(catalogue, Math.floor(size / 2));
  const config = await configFor({ catalogueUrl: catalogue, storeUrl: `file://${path.join(dir, 'store')}`, shardCount: 2 });
  await assert.rejects(prepareBuild(config), (error: Error) => {
    assert.ok(error instanceof CatalogueError, `${error.name}: ${error.message}`);
    assert.match(error.message, /items\.parquet/);
    return true;
  });
});

test('a Parquet file truncated after planning fails the build with the file named and leaves LATEST on the previous version', async (t) => {
  const dir = await tempDir(t);
  const redis = await privateRedis(t);
  const intact = path.join(dir, 'intact.parquet');
  await writeCatalogue(intact, { items: 2000, format: 'parquet', rowGroupSize: 500 });
  const storeUrl = `file://${path.join(dir, 'store')}`;
  const first = await runBuild(t, redis.url, { catalogueUrl: intact, storeUrl, shardCount: 2 });
  const latestBefore = await first.store.get('indexes/catalogue/LATEST');

  const doomed = path.join(dir, 'doomed.parquet');
  await copyFile(intact, doomed);
  // Versions are named by the second a build starts: start this one visibly later.
  const prepared = await prepareBuild(await configFor({ catalogueUrl: doomed, storeUrl, shardCount: 2 }), new Date(Date.now() + 2000));
  assert.notEqual(prepared.spec.version, first.prepared.spec.version);
  const { size } = await stat(doomed);
  await truncate(doomed, Math.floor(size / 2));
  await submitBuild(first.queues, first.store, prepared);
  await assert.rejects(waitForBuild(first.queues, prepared.spec.buildId, 2, undefined, 200), (error: Error) => {
    assert.ok(error instanceof BuildFailedError, `${error.name}: ${error.message}`);
    assert.match(error.message, /doomed\.parquet/);
    assert.match(error.message, /failed after 1 attempt: .*not retried/, 'corruption is not retried');
    return true;
  });
  assert.deepEqual(await first.store.get('indexes/catalogue/LATEST'), latestBefore, 'LATEST is untouched');
  assert.deepEqual(await listVersions(first.store, 'catalogue'), [first.prepared.spec.version], 'no version of the failed build');
  const published = await readPublished(t, first.store);
  assert.equal(published.manifest.buildId, first.prepared.spec.buildId);
});

test('a title column that is missing or of the wrong type fails at plan time, naming the field', async (t) => {
  const dir = await tempDir(t);
  const catalogue = path.join(dir, 'items.jsonl');
  await writeMappedJsonl(catalogue, 500, (row) => ({ ...row, title: { en: String(row.title) } }));
  const storeUrl = `file://${path.join(dir, 'store')}`;
  await assert.rejects(
    prepareBuild(await configFor({ catalogueUrl: catalogue, storeUrl, shardCount: 2, config: { catalogue: { fields: { title: 'name' } } } })),
    (error: Error) => {
      assert.equal((error as { code?: string }).code, 'CATALOGUE_FIELDS_INVALID', error.message);
      assert.match(
        error.message,
        /catalogue\.fields\.title is "name", but none of the first 256 rows \(from .*items\.jsonl@byte 0\) has it; fields seen: id, title/,
      );
      return true;
    },
  );
  await assert.rejects(prepareBuild(await configFor({ catalogueUrl: catalogue, storeUrl, shardCount: 2 })), (error: Error) => {
    assert.equal((error as { code?: string }).code, 'CATALOGUE_FIELDS_INVALID', error.message);
    assert.match(error.message, /every one of the first 256 rows .* is rejected, 256 for field "title"/);
    return true;
  });
});

test('a catalogue whose row estimate is far off (one huge line) trains fewer lists instead of failing, and the manifest says so', async (t) => {
  const dir = await tempDir(t);
  const redis = await privateRedis(t);
  const catalogue = path.join(dir, 'items.jsonl');
  const huge = { id: 999_999, title: `huge ${'x'.repeat(4_000_000)}`, category: 'Home', brand: 'b', shop: 's', price: 1 };
  await writeMappedJsonl(catalogue, 1200, (row) => row);
  await writeFile(catalogue, `${JSON.stringify(huge)}\n`, { flag: 'a' });
  const config = await configFor({ catalogueUrl: catalogue, storeUrl: `file://${path.join(dir, 'store')}`, shardCount: 2, trainSampleSize: 20_000 });
  delete (config.index as { factory?: string }).factory; // the rule chooses from the (wrong) estimate
  const prepared = await prepareBuild(config);
  assert.ok(prepared.plan.totals.estimatedRows > 10_000, `the head of the file makes the plan estimate ${prepared.plan.totals.estimatedRows} rows`);
  const plannedNlist = prepared.spec.index.nlist;
  assert.ok(plannedNlist * 39 > 1201, `the plan chose ${prepared.spec.index.factory}, more lists than 1,201 rows can train`);
  const queues = openQueues(t, redis.url);
  const store = openStore(t, prepared.spec.storeUrl);
  await submitBuild(queues, store, prepared);
  await startWorkers(t, redis.url, 2);
  await waitForBuild(queues, prepared.spec.buildId, 2, undefined, 100);
  const published = await readPublished(t, store);
  const adjusted = (published.manifest as { indexAdjusted?: { plannedFactory: string; reason: string } }).indexAdjusted;
  assert.equal(adjusted?.plannedFactory, prepared.spec.index.factory);
  assert.match(adjusted!.reason, new RegExp(`nlist ${plannedNlist} -> 16`));
  assert.equal(published.index.describe().nlist, 16, 'the published index has the fitted lists');
  assert.match(published.manifest.factory, /^IVF16(_HNSW32)?,PQ\d+$/);
});

test('a model bundle that does not match its ONNX files, or whose bundle.json has an unknown key, fails at plan time (dry runs too) without any job', async (t) => {
  const dir = await tempDir(t);
  const catalogue = path.join(dir, 'items.jsonl');
  await writeCatalogue(catalogue, { items: 300, format: 'jsonl' });
  const storeUrl = `file://${path.join(dir, 'store')}`;
  const reference = await referenceModel();
  const edits: Array<[string, (manifest: Record<string, any>) => void, string, RegExp]> = [
    [
      'renamed-input',
      (m) => {
        m.item.features[0].input = 'title_tokens';
      },
      'BUNDLE_MODEL_MISMATCH',
      /model\.onnx does not match bundle\.json: .*title_tokens/,
    ],
    [
      'wrong-dim',
      (m) => {
        m.dim = 32;
      },
      'BUNDLE_MODEL_MISMATCH',
      /model\.onnx does not match bundle\.json: .*embedding/,
    ],
    [
      'query-dtype',
      (m) => {
        m.query.input.dtype = 'int32';
      },
      'BUNDLE_MODEL_MISMATCH',
      /query\.onnx does not match bundle\.json: .*query_ids/,
    ],
    [
      'unknown-key',
      (m) => {
        m.normalised = true;
        m.query.fusion.weight = [1];
      },
      'BUNDLE_INVALID',
      /bundle\.json is invalid: normalised is not a known key .*; query\.fusion\.weight is not a known key/,
    ],
  ];
  for (const [name, edit, code, message] of edits) {
    const bundle = path.join(dir, name);
    await cp(reference, bundle, { recursive: true });
    const manifest = JSON.parse(await readFile(path.join(bundle, 'bundle.json'), 'utf8')) as Record<string, any>;
    edit(manifest);
    await writeFile(path.join(bundle, 'bundle.json'), JSON.stringify(manifest));
    await assert.rejects(prepareBuild(await configFor({ catalogueUrl: catalogue, storeUrl, shardCount: 2, modelDir: bundle })), (error: Error) => {
      assert.equal((error as { code?: string }).code, code, `${name}: ${error.message}`);
      assert.match(error.message, message, name);
      return true;
    });
  }
});
