import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { SyntheticVectors, parseSyntheticUrl, syntheticUrl, SYNTHETIC_DEFAULTS } from '@reindex/core';
import { queriesInfoKey, type QueryFileInfo, type ShardStats } from '@reindex/worker';
import { allIds, compareIds, privateRedis, readPublished, runBuild, tempDir } from './harness.js';

const dim = 128;

test('a synthetic catalogue goes through every stage with its own vectors: each id once, each vector as generated, leave-one-out quality', async (t) => {
  const dir = await tempDir(t);
  const redis = await privateRedis(t);
  const items = 6000;
  const catalogueUrl = syntheticUrl({ ...SYNTHETIC_DEFAULTS, items, modes: 64 });
  const { prepared, result, store } = await runBuild(t, redis.url, {
    catalogueUrl, storeUrl: `file://${path.join(dir, 'store')}`, shardCount: 3, factory: 'IVF32,Flat',
    config: { catalogue: { fields: { embedding: 'embedding' } } },
  });
  assert.equal(result.items, items);
  assert.equal(result.rejected, 0);
  assert.deepEqual(prepared.plan.shards.map((s) => s.parts.map((p) => p.kind)), [['synthetic-rows'], ['synthetic-rows'], ['synthetic-rows']]);
  const published = await readPublished(t, store);
  assert.deepEqual(compareIds(await allIds(published.index), Array.from({ length: items }, (_, i) => BigInt(i))), { duplicates: [], missing: [], extra: [] });

  // The index holds the generator's vectors unchanged: an exact (Flat) search for row r's
  // vector over every list finds r with inner product 1.
  const generator = new SyntheticVectors(parseSyntheticUrl(catalogueUrl));
  const rows = [0, 17, 2999, 5999];
  const queries = new Float32Array(rows.length * dim);
  rows.forEach((r, i) => generator.vectorInto(r, queries.subarray(i * dim, (i + 1) * dim)));
  const hits = await published.index.search(queries, 1, { nprobe: 32 });
  assert.deepEqual(Array.from(hits.labels), rows.map(BigInt));
  for (const d of hits.distances) assert.ok(Math.abs(d - 1) < 1e-5, `inner product ${d}`);

  // Queries are held-out items' own vectors, each named so the quality stage leaves it out.
  const info = JSON.parse((await store.get(queriesInfoKey(prepared.spec.buildId))).toString()) as QueryFileInfo;
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
    catalogueUrl: file, storeUrl: `file://${path.join(dir, 'store')}`, shardCount: 2, factory: 'IVF16,Flat', trainSampleSize: 1000,
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
  assert.ok(examples.some((e) => e.startsWith('10 invalid-embedding: field "vec" has 64 values, the index has dim 128')), examples.join('\n'));
  assert.ok(examples.some((e) => e.startsWith('50 invalid-embedding: field "vec" is all zeros')), examples.join('\n'));
  assert.ok(examples.some((e) => e.startsWith('60 invalid-embedding') && e.includes("float32's range")), examples.join('\n'));
  assert.ok(examples.some((e) => e.startsWith('30 missing-embedding: field "vec" is missing')), examples.join('\n'));

  const published = await readPublished(t, store);
  const expected = Array.from({ length: 1200 }, (_, i) => i).filter((i) => ![10, 20, 30, 40, 50, 60, 70].includes(i)).map(BigInt);
  assert.deepEqual(compareIds(await allIds(published.index), expected), { duplicates: [], missing: [], extra: [] });
  // Normalised at indexing: the stored vector of item 0 has inner product 1 with its unit query.
  const first = (await import('node:fs/promises')).readFile(file, 'utf8');
  const v = (JSON.parse((await first).split('\n')[0]!) as { vec: number[] }).vec;
  const norm = Math.hypot(...v);
  const hit = await published.index.search(Float32Array.from(v, (x) => x / norm), 1, { nprobe: 16 });
  assert.equal(hit.labels[0], 0n);
  assert.ok(Math.abs(hit.distances[0]! - 1) < 1e-5, `inner product ${hit.distances[0]}`);
});
