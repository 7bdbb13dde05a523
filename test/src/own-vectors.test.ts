import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { prepareBuild } from '@reindex/coordinator';
import { SyntheticVectors, createPrng, parseSyntheticUrl, syntheticUrl, SYNTHETIC_DEFAULTS, qualityQueriesKeys } from '@reindex/core';
import { arrowParquetBuffer } from '@reindex/core/testing';
import type { QueryFileInfo, ShardStats } from '@reindex/pipeline';
import { allIds, compareIds, configFor, privateRedis, readPublished, runBuild, runCli, tempDir } from './harness.js';

const dim = 128;

test('a synthetic catalogue goes through every stage with its own vectors: each id once, each vector as generated, leave-one-out quality', async (t) => {
  const dir = await tempDir(t);
  const redis = await privateRedis(t);
  const items = 6000;
  const catalogueUrl = syntheticUrl({ ...SYNTHETIC_DEFAULTS, items, modes: 64 });
  const { prepared, result, store } = await runBuild(t, redis.url, {
    catalogueUrl,
    storeUrl: `file://${path.join(dir, 'store')}`,
    shardCount: 3,
    factory: 'IVF32,Flat',
    config: { catalogue: { fields: { embedding: 'embedding' } } },
  });
  assert.equal(result.items, items);
  assert.equal(result.rejected, 0);
  assert.deepEqual(
    prepared.plan.shards.map((s) => s.parts.map((p) => p.kind)),
    [['synthetic-rows'], ['synthetic-rows'], ['synthetic-rows']],
  );
  const published = await readPublished(t, store);
  assert.deepEqual(
    compareIds(
      await allIds(published.index),
      Array.from({ length: items }, (_, i) => BigInt(i)),
    ),
    { duplicates: [], missing: [], extra: [] },
  );

  // The index holds the generator's vectors unchanged: an exact (Flat) search for row r's
  // vector over every list finds r with inner product 1.
  const generator = new SyntheticVectors(parseSyntheticUrl(catalogueUrl));
  const rows = [0, 17, 2999, 5999];
  const queries = new Float32Array(rows.length * dim);
  rows.forEach((r, i) => {
    generator.vectorInto(r, queries.subarray(i * dim, (i + 1) * dim));
  });
  const hits = await published.index.search(queries, 1, { nprobe: 32 });
  assert.deepEqual(Array.from(hits.labels), rows.map(BigInt));
  for (const d of hits.distances) assert.ok(Math.abs(d - 1) < 1e-5, `inner product ${d}`);

  // Queries are held-out items' own vectors, each named so the quality stage leaves it out.
  const info = JSON.parse((await store.get(qualityQueriesKeys(prepared.spec.buildId).info)).toString()) as QueryFileInfo;
  assert.equal(info.source, 'item-embeddings');
  assert.equal(info.selfIds?.length, info.count);
  assert.ok(info.count > 100);
  const quality = published.manifest.quality as { recallAt10?: number; sweep?: Array<{ nprobe: number; recallAt10: number }> } | undefined;
  const full = quality?.sweep?.find((r) => r.nprobe === 32);
  // Flat codes at nprobe = nlist are exact search: leave-one-out recall is 1, not a trivial self-hit.
  assert.equal(full?.recallAt10, 1);
  const one = quality?.sweep?.find((r) => r.nprobe === 1);
  assert.ok(one !== undefined && one.recallAt10 < 1, `recall@10 at nprobe 1 should be below 1 once each query's own item is left out (got ${one?.recallAt10})`);
});

test('a JSONL catalogue with vectors written by Python: bad vectors are counted rejections naming the field, the rest is indexed normalised', async (t) => {
  const dir = await tempDir(t);
  const redis = await privateRedis(t);
  const file = path.join(dir, 'vectors.jsonl');
  // Python's json module is the writer (not ours); NaN is what it writes for float('nan'), which is not JSON.
  const script = `
import json, random
random.seed(7)
with open(${JSON.stringify(file)}, "w") as f:
    for i in range(1200):
        v = [random.gauss(0, 1) for _ in range(${dim})]
        row = {"sku_id": i, "vec": v, "title": "item %d" % i}
        if i == 10: row["vec"] = v[:64]
        if i == 20: row["vec"] = [None] * ${dim}
        if i == 30: del row["vec"]
        if i == 40: row["vec"] = "0.1,0.2"
        if i == 50: row["vec"] = [0.0] * ${dim}
        if i == 60: row["vec"] = [1e39] * ${dim}
        line = json.dumps(row)
        if i == 70: line = json.dumps(dict(row, vec=[float("nan")] * ${dim}))
        f.write(line + "\\n")
`;
  await promisify(execFile)('python3', ['-c', script]);
  const { prepared, result, store } = await runBuild(t, redis.url, {
    catalogueUrl: file,
    storeUrl: `file://${path.join(dir, 'store')}`,
    shardCount: 2,
    factory: 'IVF16,Flat',
    trainSampleSize: 1000,
    config: { catalogue: { fields: { id: 'sku_id', embedding: 'vec' }, normalizeEmbeddings: true } },
  });
  const byReason: Record<string, number> = {};
  const examples: string[] = [];
  for (let shard = 0; shard < 2; shard++) {
    const stats = JSON.parse((await store.get(`builds/${prepared.spec.buildId}/shards/${shard}.json`)).toString()) as ShardStats;
    for (const [reason, n] of Object.entries(stats.rejectedByReason)) byReason[reason] = (byReason[reason] ?? 0) + n;
    examples.push(...stats.rejectedExamples.map((r) => `${r.itemId} ${r.reason}: ${r.message}`));
  }
  // 10 wrong length, 20 nulls, 40 a string, 50 zeros (cannot normalise), 60 overflows float32; 30 has none; 70 is not JSON.
  assert.deepEqual(byReason, { 'invalid-embedding': 5, 'missing-embedding': 1, 'malformed-row': 1 });
  assert.equal(result.rejected, 7);
  assert.ok(
    examples.some((e) => e.startsWith('10 invalid-embedding: field "vec" has 64 values, the index has dim 128')),
    examples.join('\n'),
  );
  assert.ok(
    examples.some((e) => e.startsWith('50 invalid-embedding: field "vec" is all zeros')),
    examples.join('\n'),
  );
  assert.ok(
    examples.some((e) => e.startsWith('60 invalid-embedding') && e.includes("float32's range")),
    examples.join('\n'),
  );
  assert.ok(
    examples.some((e) => e.startsWith('30 missing-embedding: field "vec" is missing')),
    examples.join('\n'),
  );

  const published = await readPublished(t, store);
  const expected = Array.from({ length: 1200 }, (_, i) => i)
    .filter((i) => ![10, 20, 30, 40, 50, 60, 70].includes(i))
    .map(BigInt);
  assert.deepEqual(compareIds(await allIds(published.index), expected), { duplicates: [], missing: [], extra: [] });
  // Normalised at indexing: the stored vector of item 0 has inner product 1 with its unit query.
  const first = (await import('node:fs/promises')).readFile(file, 'utf8');
  const v = (JSON.parse((await first).split('\n')[0]!) as { vec: number[] }).vec;
  const norm = Math.hypot(...v);
  const hit = await published.index.search(
    Float32Array.from(v, (x) => x / norm),
    1,
    { nprobe: 16 },
  );
  assert.equal(hit.labels[0], 0n);
  assert.ok(Math.abs(hit.distances[0]! - 1) < 1e-5, `inner product ${hit.distances[0]}`);
});

test('a Parquet catalogue of its own vectors (FIXED_SIZE_LIST<FLOAT>, written by arrow-rs) builds without a model: dim from the data, bad rows counted, quality from a query file, search by --vector', async (t) => {
  const dir = await tempDir(t);
  const dim = 24;
  const items = 4000;
  const random = createPrng(5);
  const vectors = Array.from({ length: items }, () => Array.from({ length: dim }, () => random() * 2 - 1));
  // Rows 10 and 20 are too short, row 30 holds NaN, row 40 is all zeros (cannot be normalised).
  const stored: Array<number[] | null> = vectors.map((v, i) =>
    i === 10 || i === 20 ? v.slice(0, dim - 1) : i === 30 ? v.map((x, j) => (j === 3 ? Number.NaN : x)) : i === 40 ? v.map(() => 0) : v,
  );
  const bad = new Set([10, 20, 30, 40]);
  // Arrow's FixedSizeList holds one length: the short rows go in a LIST<FLOAT> file of their own.
  const fixed = Array.from({ length: items }, (_, i) => i).filter((i) => i !== 10 && i !== 20);
  await mkdir(path.join(dir, 'vectors'));
  await writeFile(
    path.join(dir, 'vectors', 'part-0.parquet'),
    arrowParquetBuffer(
      {
        sku: { type: 'utf8', values: fixed.map((i) => `v-${i}`) },
        vec: { type: 'float32-fixed-list', size: dim, values: fixed.map((i) => stored[i]!) },
      },
      { codec: 'ZSTD', rowGroupRows: 1000 },
    ),
  );
  await writeFile(
    path.join(dir, 'vectors', 'part-1.parquet'),
    arrowParquetBuffer(
      {
        sku: { type: 'utf8', values: ['v-10', 'v-20'] },
        vec: { type: 'float32-list', values: [stored[10]!, stored[20]!] },
      },
      { codec: 'GZIP' },
    ),
  );
  // The shop's own queries: vectors near items 100..149 (their own vectors, slightly moved).
  const queriesFile = path.join(dir, 'queries.jsonl');
  await writeFile(queriesFile, `${Array.from({ length: 50 }, (_, q) => JSON.stringify({ vector: vectors[100 + q]!.map((x) => x + 0.01) })).join('\n')}\n`);
  const redis = await privateRedis(t);
  const storeUrl = `file://${path.join(dir, 'store')}`;
  const { result, store, prepared } = await runBuild(t, redis.url, {
    catalogueUrl: path.join(dir, 'vectors'),
    storeUrl,
    shardCount: 2,
    factory: 'IVF16,Flat',
    modelDir: null,
    config: {
      catalogue: { fields: { id: 'sku', embedding: 'vec' }, normalizeEmbeddings: true },
      index: { quality: { queriesUrl: queriesFile, targetRecallAt10: 0.5 } },
    },
  });
  assert.deepEqual(prepared.spec.model, { dir: null, contentHash: null, dim });
  assert.equal(result.items, items - bad.size);
  assert.equal(result.rejected, bad.size);
  const published = await readPublished(t, store);
  assert.equal(published.manifest.dim, dim);
  assert.equal(published.manifest.modelBundleHash, null);
  const skus = new Set((await allIds(published.index)).map((id) => published.idMap!.lookup(id)));
  assert.equal(skus.size, items - bad.size);
  for (const i of bad) assert.equal(skus.has(`v-${i}`), false, `row ${i} is rejected`);
  const info = JSON.parse((await store.get(qualityQueriesKeys(prepared.spec.buildId).info)).toString()) as QueryFileInfo;
  assert.equal(info.source, 'query-file');
  assert.equal(info.count, 50);
  assert.equal((published.manifest.quality as { querySource?: string }).querySource, 'query-file');

  // Search by vector through the CLI: item 123's own vector finds it first, score ~1 (normalised).
  const search = await runCli(['search', '--vector', JSON.stringify(vectors[123]), '--k', '3', '--nprobe', '16', '--store', storeUrl, '--json']);
  assert.equal(search.code, 0, search.stderr);
  const hits = JSON.parse(search.stdout.trim().split('\n').pop()!) as Array<{ id: string; score: number }>;
  assert.equal(hits[0]!.id, 'v-123');
  assert.ok(Math.abs(hits[0]!.score - 1) < 1e-4, `score ${hits[0]!.score}`);
  const text = await runCli(['search', 'red shirt', '--store', storeUrl]);
  assert.notEqual(text.code, 0);
  assert.match(text.stderr, /built from the catalogue's own vectors without a model bundle: search it with --vector/);
  const wrongDim = await runCli(['search', '--vector', '[1, 2, 3]', '--store', storeUrl]);
  assert.notEqual(wrongDim.code, 0);
  assert.match(wrongDim.stderr, new RegExp(`the query vector has 3 numbers, the index has dim ${dim}`));
});

test('a query file is validated at plan time: bad lines named by line number, text queries refused without a query tower', async (t) => {
  const dir = await tempDir(t);
  const catalogueUrl = syntheticUrl({ ...SYNTHETIC_DEFAULTS, items: 2000, dim: 8, modes: 8 });
  const storeUrl = `file://${path.join(dir, 'store')}`;
  const cases: Array<[string, RegExp]> = [
    [
      `{"vector": [1,2,3,4,5,6,7,8]}\n{"vector": [1,2]}\n\n{"vector": [1,2,3,4,5,6,7,"x"]}\n{"vektor": []}\n`,
      /3 invalid line\(s\) in query file .*q\.jsonl: .*q\.jsonl:2: "vector" has 2 numbers, the index has dim 8; .*q\.jsonl:4: "vector"\[7\] is "x", not a finite float32; .*q\.jsonl:5: unknown key "vektor"/,
    ],
    [`{"query": "red shirt"}\n`, /q\.jsonl:1 is a text query, but the build has no model bundle/],
  ];
  for (const [body, message] of cases) {
    const file = path.join(dir, 'q.jsonl');
    await writeFile(file, body);
    await assert.rejects(
      prepareBuild(
        await configFor({
          catalogueUrl,
          storeUrl,
          shardCount: 2,
          modelDir: null,
          config: { catalogue: { fields: { embedding: 'embedding' } }, index: { quality: { queriesUrl: file } } },
        }),
      ),
      (error: Error) => {
        assert.equal((error as { code?: string }).code, 'QUERIES_INVALID', error.message);
        assert.match(error.message, message);
        return true;
      },
    );
  }
});
