import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { DEFAULT_TRAIN_OPTIONS, FaissError, FaissIndex, faissSimd, getBlasThreads, nativeTasksInFlight, nativeTasksSettled, setThreads } from './index.js';
import { clusteredVectors, recallAtK, sparseIds, withTempDir } from './fixtures.test-support.js';

const dim = 32;

async function trainedIvfPq(n = 20_000, factory = 'IVF64,PQ8') {
  const x = clusteredVectors(n, dim, 1);
  const ids = sparseIds(n);
  const index = FaissIndex.fromFactory(dim, factory, 'l2');
  await index.train(x);
  return { index, x, ids };
}

test('the factory accepts the faiss strings reindex uses and reports what it built', () => {
  const cases: Array<[number, string, string, boolean]> = [
    [128, 'IVF4096,PQ32', 'IndexIVFPQ', false],
    [128, 'IVF65536_HNSW32,PQ32', 'IndexIVFPQ', false],
    [128, 'OPQ32,IVF1024,PQ32', 'IndexPreTransform', false],
    [128, 'Flat', 'IndexFlat', true],
    [64, 'IDMap,Flat', 'IndexIDMapTemplate<faiss::Index>', true],
  ];
  for (const [d, factory, type, trained] of cases) {
    const index = FaissIndex.fromFactory(d, factory, 'ip');
    assert.equal(index.describe().type, type, factory);
    assert.equal(index.describe().metric, 'ip');
    assert.equal(index.dim, d);
    assert.equal(index.isTrained, trained, factory);
    assert.equal(index.ntotal, 0);
  }
  assert.equal(FaissIndex.fromFactory(128, 'IVF4096,PQ32').describe().nlist, 4096);
  assert.equal(FaissIndex.fromFactory(128, 'IVF4096,PQ32').describe().codeSize, 32);
  assert.match(faissSimd, /^(avx2|generic)$/);
});

test('IVF-PQ recall@10 against exact search matches what faiss gives on clustered data', async () => {
  const { index, x, ids } = await trainedIvfPq();
  await index.addWithIds(x, ids);
  assert.equal(index.ntotal, 20_000);
  const exact = FaissIndex.fromFactory(dim, 'IDMap,Flat', 'l2');
  await exact.addWithIds(x, ids);
  const queries = clusteredVectors(200, dim, 99);
  const truth = await exact.search(queries, 10);
  const found = await index.search(queries, 10, { nprobe: 16 });
  const recall = recallAtK(truth.labels, found.labels, 200, 10);
  // More probes can only find more of the exact neighbours.
  const narrow = recallAtK(truth.labels, (await index.search(queries, 10, { nprobe: 1 })).labels, 200, 10);
  assert.ok(recall >= narrow, `nprobe 16 recall ${recall} < nprobe 1 recall ${narrow}`);
  // 8-byte codes for 32-d clustered data: faiss reaches ~0.5; a broken encoder or id map gives ~0.
  assert.ok(recall > 0.35, `recall@10 ${recall}`);
  assert.equal(found.labels.length, 2000);
  assert.equal(found.distances.length, 2000);
  for (let q = 0; q < 200; q++) {
    for (let j = 1; j < 10; j++) assert.ok(found.distances[q * 10 + j]! >= found.distances[q * 10 + j - 1]!);
  }
});

test('the recall we get equals Debian python3-faiss on the same data and parameters', async (t) => {
  try {
    execFileSync('/usr/bin/python3', ['-c', 'import faiss, numpy'], { stdio: 'ignore' });
  } catch {
    t.skip('python3-faiss is not installed (scripts/setup.sh installs it)');
    return;
  }
  await withTempDir(async (dir) => {
    const n = 20_000;
    const x = clusteredVectors(n, dim, 1);
    const queries = clusteredVectors(200, dim, 99);
    await writeFile(path.join(dir, 'x.f32'), x);
    await writeFile(path.join(dir, 'q.f32'), queries);
    // Python numbers rows 0..n-1, so our ids do too here.
    const rowIds = BigInt64Array.from({ length: n }, (_, i) => BigInt(i));
    const { index } = await trainedIvfPq(n);
    await index.addWithIds(x, rowIds);
    const exact = FaissIndex.fromFactory(dim, 'IDMap,Flat', 'l2');
    await exact.addWithIds(x, rowIds);
    const truth = (await exact.search(queries, 10)).labels;
    const ours = await index.search(queries, 10, { nprobe: 16 });
    await index.write(path.join(dir, 'ours.index'));
    const script = `
import faiss, numpy as np, sys
d = ${dim}
x = np.fromfile(sys.argv[1] + '/x.f32', dtype='float32').reshape(-1, d)
q = np.fromfile(sys.argv[1] + '/q.f32', dtype='float32').reshape(-1, d)
flat = faiss.IndexFlatL2(d); flat.add(x)
_, truth = flat.search(q, 10)
idx = faiss.index_factory(d, 'IVF64,PQ8np'); idx.train(x); idx.add(x); idx.nprobe = 16
_, ref = idx.search(q, 10)
ours = faiss.read_index(sys.argv[1] + '/ours.index'); ours.nprobe = 16
_, reread = ours.search(q, 10)
rec = lambda f: np.mean([len(set(truth[i]) & set(f[i])) / 10 for i in range(len(q))])
print(rec(ref), rec(reread), ours.ntotal)
`;
    const [pyRecall, pyReread, pyNtotal] = execFileSync('/usr/bin/python3', ['-c', script, dir], { encoding: 'utf8' }).trim().split(/\s+/).map(Number) as [
      number,
      number,
      number,
    ];
    const ourRecall = recallAtK(truth, ours.labels, 200, 10);
    assert.equal(pyNtotal, n);
    // Python faiss reading our file and searching it gives our recall exactly.
    assert.ok(Math.abs(pyReread - ourRecall) < 1e-9, `python on our file ${pyReread} vs ours ${ourRecall}`);
    // An index trained by Debian's faiss itself lands within k-means noise of ours.
    assert.ok(Math.abs(pyRecall - ourRecall) < 0.05, `python faiss ${pyRecall} vs ours ${ourRecall}`);
  });
});

test('ids survive add, serialization to a buffer and to a file', async () => {
  await withTempDir(async (dir) => {
    const n = 5_000;
    const x = clusteredVectors(n, dim, 3);
    const ids = sparseIds(n);
    const index = FaissIndex.fromFactory(dim, 'IVF32,Flat', 'l2');
    await index.train(x);
    await index.addWithIds(x, ids);
    const own = async (ix: FaissIndex) => (await ix.search(x, 1, { nprobe: 32 })).labels;
    assert.deepEqual(await own(index), ids, 'each vector finds its own id');
    const fromBuffer = await FaissIndex.fromBuffer(await index.toBuffer());
    assert.deepEqual(await own(fromBuffer), ids);
    const file = path.join(dir, 'a.index');
    await index.write(file);
    const fromFile = await FaissIndex.read(file);
    assert.equal(fromFile.ntotal, n);
    assert.deepEqual(await own(fromFile), ids);
    const mapped = await FaissIndex.read(file, { mmap: true });
    assert.deepEqual(await own(mapped), ids);
    assert.equal(mapped.describe().readOnly, true);
    await assert.rejects(mapped.addWithIds(x.subarray(0, dim), ids.subarray(0, 1)), /read-only/);
  });
});

test('train options default to fast IVF-PQ training and are validated', async () => {
  assert.deepEqual(DEFAULT_TRAIN_OPTIONS, {
    polysemousTraining: false,
    pqPointsPerCentroid: 128,
    pqKmeansBlas: true,
    coarseTraining: 'flat',
    kmeansIterations: 10,
    quantizerEfSearch: 16,
  });
  const index = FaissIndex.fromFactory(dim, 'IVF16,PQ8', 'l2');
  await assert.rejects(index.train(clusteredVectors(1000, dim, 1), { pqPointsPerCentroid: 0 }), /pqPointsPerCentroid/);
  await index.train(clusteredVectors(4000, dim, 1), { pqPointsPerCentroid: 8, pqKmeansBlas: false });
  assert.equal(index.isTrained, true);
});

test('timers keep firing while a long train runs off the JS thread', async () => {
  // Polysemous training is the slowest step faiss has for a small index: ~1 s here.
  const x = clusteredVectors(20_000, dim, 5);
  const index = FaissIndex.fromFactory(dim, 'IVF64,PQ8', 'l2');
  let ticks = 0;
  const timer = setInterval(() => ticks++, 10);
  const started = Date.now();
  await index.train(x, { polysemousTraining: true });
  const elapsed = Date.now() - started;
  clearInterval(timer);
  assert.ok(elapsed > 200, `train took ${elapsed} ms, too short to prove anything`);
  // A blocked event loop fires an interval at most once after the block; here it keeps ticking.
  assert.ok(ticks >= elapsed / 10 / 4, `${ticks} ticks in ${elapsed} ms`);
});

test('concurrent searches and adds on one index are serialised safely', async () => {
  const { index, x, ids } = await trainedIvfPq(8_000, 'IVF16,PQ8');
  const half = 4_000 * dim;
  await Promise.all([
    index.addWithIds(x.subarray(0, half), ids.subarray(0, 4_000)),
    index.search(x.subarray(0, 100 * dim), 5, { nprobe: 4 }),
    index.addWithIds(x.subarray(half), ids.subarray(4_000)),
    index.search(x.subarray(0, 100 * dim), 5, { nprobe: 4 }),
  ]);
  assert.equal(index.ntotal, 8_000);
});

test('close is idempotent and later calls fail with CLOSED', async () => {
  const index = FaissIndex.fromFactory(dim, 'Flat', 'l2');
  await index.close();
  await index.close();
  await assert.rejects(index.search(new Float32Array(dim), 1), (e: FaissError) => e.code === 'CLOSED');
});

test('two-level k-means trains coarse centroids that recall as well as flat k-means on clustered data', async () => {
  const d = 32;
  const n = 30_000;
  const all = clusteredVectors(n + 300, d, 5, 200, 0.5);
  const x = all.subarray(0, n * d);
  const queries = all.subarray(n * d);
  const ids = sparseIds(n);
  const exact = FaissIndex.fromFactory(d, 'IDMap,Flat', 'l2');
  await exact.addWithIds(x, ids);
  const truth = (await exact.search(queries, 10)).labels;
  const recalls: Record<string, number[]> = {};
  for (const [method, factory] of [
    ['flat', 'IVF512,Flat'],
    ['two-level', 'IVF512,Flat'],
    ['two-level', 'IVF512_HNSW32,Flat'],
  ] as const) {
    const index = FaissIndex.fromFactory(d, factory, 'l2');
    await index.train(x, { coarseTraining: method, kmeansIterations: 10, quantizerEfSearch: 32 });
    assert.equal(index.isTrained, true);
    await index.addWithIds(x, ids);
    assert.equal(index.ntotal, n);
    recalls[`${method} ${factory}`] = [];
    for (const nprobe of [1, 4, 16]) {
      recalls[`${method} ${factory}`]!.push(recallAtK(truth, (await index.search(queries, 10, { nprobe })).labels, 300, 10));
    }
    await index.close();
  }
  const flat = recalls['flat IVF512,Flat']!;
  for (const [name, r] of Object.entries(recalls)) {
    // Exact codes: recall only measures how well the lists partition the data.
    assert.ok(r[2]! > 0.9, `${name}: recall@10 ${r[2]} at nprobe 16`);
    for (let i = 0; i < r.length; i++) assert.ok(r[i]! >= flat[i]! - 0.05, `${name} recall ${r.join(',')} vs flat k-means ${flat.join(',')}`);
  }
  // A random partition (what a broken second level gives) recalls far less at nprobe 1.
  assert.ok(flat[0]! > 0.3, `flat k-means recall@10 at nprobe 1: ${flat[0]}`);
});

test('two-level training of IVF-PQ with inner product keeps every id and refuses too small a sample', async () => {
  const d = 32;
  const x = clusteredVectors(5000, d, 9);
  for (let i = 0; i < 5000; i++) {
    const v = x.subarray(i * d, (i + 1) * d);
    const norm = Math.hypot(...v);
    for (let j = 0; j < d; j++) v[j]! /= norm;
  }
  const ids = sparseIds(5000);
  const index = FaissIndex.fromFactory(d, 'IVF128_HNSW32,PQ8', 'ip');
  await index.train(x, { coarseTraining: 'two-level' });
  await index.addWithIds(x, ids);
  const all = await index.search(x.subarray(0, 20 * d), 1, { nprobe: 128 });
  const found = new Set(all.labels);
  assert.ok(found.size >= 15, `the vectors themselves are found (${found.size} of 20 distinct)`);
  const copy = await FaissIndex.fromBuffer(await index.toBuffer());
  assert.equal(copy.ntotal, 5000);
  // A clone of the trained index (what each shard adds into) keeps its HNSW quantizer writable.
  const trained = FaissIndex.fromFactory(d, 'IVF128_HNSW32,PQ8', 'ip');
  await trained.train(x, { coarseTraining: 'two-level', quantizerEfSearch: 32 });
  const shard = await trained.clone();
  await shard.addWithIds(x, ids);
  await withTempDir(async (dir) => {
    await shard.write(path.join(dir, 'shard.index'));
    const back = await FaissIndex.read(path.join(dir, 'shard.index'));
    assert.equal(back.ntotal, 5000);
    const again = await back.search(x.subarray(0, 20 * d), 1, { nprobe: 128 });
    assert.deepEqual([...again.labels], [...(await shard.search(x.subarray(0, 20 * d), 1, { nprobe: 128 })).labels]);
  });
  await assert.rejects(
    FaissIndex.fromFactory(d, 'IVF1024,PQ8', 'ip').train(x.subarray(0, 500 * d), { coarseTraining: 'two-level' }),
    /at least nlist \(1024\) and at most 4294967295 vectors, got 500/,
  );
  await assert.rejects(async () => index.train(x, { coarseTraining: 'three-level' as 'flat' }), /coarseTraining must be "flat" or "two-level"/);
  await assert.rejects(async () => index.train(x, { kmeansIterations: 0 }), /kmeansIterations must be an integer in \[1, 1000\]/);
});

test('each faiss call gives OpenBLAS the faiss thread count, so two jobs do not each run a pool of every core', async () => {
  const index = FaissIndex.fromFactory(8, 'IDMap,Flat', 'ip');
  const vectors = Float32Array.from({ length: 8 * 64 }, (_, i) => Math.sin(i));
  await index.addWithIds(
    vectors,
    BigInt64Array.from({ length: 64 }, (_, i) => BigInt(i)),
  );
  try {
    for (const threads of [1, 2, 1]) {
      setThreads(threads);
      // 32 queries: above the BLAS threshold, so the search calls sgemm.
      await index.search(vectors.subarray(0, 8 * 32), 4);
      assert.equal(getBlasThreads(), threads);
    }
  } finally {
    setThreads(0);
    await index.close();
  }
});

test('removeIds removes every copy of each id from an IVF index and leaves the rest searchable', async () => {
  const { index, x, ids } = await trainedIvfPq(4000, 'IVF16,PQ8');
  await index.addWithIds(x, ids);
  // A second copy of the first 10 items: removing their ids takes both copies.
  await index.addWithIds(x.slice(0, 10 * dim), ids.slice(0, 10));
  assert.equal(index.ntotal, 4010);
  const gone = ids.slice(0, 10);
  assert.equal(await index.removeIds(gone), 20);
  assert.equal(index.ntotal, 3990);
  assert.equal(await index.removeIds(new BigInt64Array([123456789n])), 0, 'an absent id removes nothing');
  const { labels } = await index.search(x.slice(0, 50 * dim), 10, { nprobe: 16 });
  const removed = new Set(gone);
  assert.ok(
    labels.every((label) => !removed.has(label)),
    'no removed id is returned',
  );
  assert.ok(
    labels.some((label) => label === ids[20]),
    'the other items are still found',
  );
  await index.close();
  const flat = FaissIndex.fromFactory(dim, 'Flat');
  await assert.rejects(flat.removeIds(gone), (error: unknown) => error instanceof FaissError && /only IVF/.test(error.message));
  await flat.close();
});

test('a search whose result would not fit in memory is refused as an argument error, the process lives', async () => {
  const { index } = await trainedIvfPq(2000, 'IVF8,PQ8');
  const queries = new Float32Array(2 ** 14 * dim);
  await assert.rejects(
    index.search(queries, 2 ** 14),
    (error: unknown) => error instanceof FaissError && error.code === 'INVALID_ARGUMENT' && /queries × k exceeds/.test(error.message),
  );
  await index.close();
});

test('native calls in flight are counted, so a process can wait for them before it exits', async () => {
  assert.equal(nativeTasksInFlight(), 0);
  const index = FaissIndex.fromFactory(dim, 'IVF64,PQ8', 'l2');
  const training = index.train(clusteredVectors(20_000, dim, 3));
  assert.equal(nativeTasksInFlight(), 1, 'queued or running');
  assert.equal(await nativeTasksSettled(60_000), true);
  await training;
  assert.equal(nativeTasksInFlight(), 0);
  await index.close();
  assert.equal(await nativeTasksSettled(1000), true);
});
