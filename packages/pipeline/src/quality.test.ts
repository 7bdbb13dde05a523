import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_CONFIG } from '@reindex/core';
import { FaissIndex } from '@reindex/faiss';
import { evaluateGate } from './gate.js';
import { ExactTopK, chooseNprobe, dropIds, parseTruth, recallOf, serializeTruth, sweepNprobe, sweepValues, type SweepRow, type TopK } from './quality.js';
import { type QualityReport, DEFINITIONS } from './quality-report.js';

/** Deterministic pseudo-random floats in [-0.5, 0.5). */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  };
}

/** `n` points around `clusters` centres, L2-normalised. */
function clustered(n: number, dim: number, clusters: number, seed: number): Float32Array {
  const r = random(seed);
  const centres = Float32Array.from({ length: clusters * dim }, () => r() * 4);
  const out = new Float32Array(n * dim);
  for (let i = 0; i < n; i++) {
    const c = i % clusters;
    let norm = 0;
    for (let k = 0; k < dim; k++) {
      const v = centres[c * dim + k]! + r();
      out[i * dim + k] = v;
      norm += v * v;
    }
    for (let k = 0; k < dim; k++) out[i * dim + k] = out[i * dim + k]! / Math.sqrt(norm);
  }
  return out;
}

const idsOf = (n: number, offset = 0) => BigInt64Array.from({ length: n }, (_, i) => BigInt(offset + i) * 7n + 3n);

/** Brute-force top-k by the metric (ties: lower id first), for checking ExactTopK. */
function bruteForce(queries: Float32Array, items: Float32Array, ids: BigInt64Array, dim: number, k: number, metric: 'ip' | 'l2'): bigint[][] {
  const nq = queries.length / dim;
  const out: bigint[][] = [];
  for (let q = 0; q < nq; q++) {
    const scored: Array<[number, bigint]> = [];
    for (let i = 0; i < ids.length; i++) {
      let s = 0;
      for (let j = 0; j < dim; j++) {
        const a = queries[q * dim + j]!;
        const b = items[i * dim + j]!;
        s += metric === 'ip' ? a * b : (a - b) * (a - b);
      }
      scored.push([s, ids[i]!]);
    }
    scored.sort((x, y) => (metric === 'ip' ? y[0] - x[0] : x[0] - y[0]) || (x[1] < y[1] ? -1 : 1));
    out.push(scored.slice(0, k).map(([, id]) => id));
  }
  return out;
}

const listsOf = (t: TopK) => Array.from({ length: t.count }, (_, q) => [...t.ids.subarray(q * t.k, (q + 1) * t.k)].filter((id) => id >= 0n));

describe('ExactTopK', () => {
  for (const metric of ['ip', 'l2'] as const) {
    it(`keeps the exact top-k (${metric}) across batches and shards, and survives its file format`, async () => {
      const dim = 16;
      const items = clustered(3000, dim, 12, 1);
      const ids = idsOf(3000);
      const queries = clustered(40, dim, 12, 2);
      const expected = bruteForce(queries, items, ids, dim, 50, metric);

      // Two "shards" of uneven batches, buffers smaller than a batch, then merged from their files.
      const shards = [
        [0, 1300],
        [1300, 3000],
      ].map(([from, to]) => ({ from: from!, to: to! }));
      const merged = new ExactTopK(queries, dim, metric, 50);
      for (const { from, to } of shards) {
        const t = new ExactTopK(queries, dim, metric, 50, 500);
        for (let s = from; s < to; s += 777) {
          const e = Math.min(to, s + 777);
          await t.addBatch(items.subarray(s * dim, e * dim), ids.subarray(s, e));
        }
        await t.flush();
        merged.fold(parseTruth(serializeTruth(t), 'shard'));
      }
      assert.deepEqual(
        listsOf(merged).map((l) => new Set(l)),
        expected.map((l) => new Set(l)),
      );
      // Best first.
      for (let q = 0; q < merged.count; q++) {
        for (let j = 1; j < 50; j++) {
          const [prev, cur] = [merged.distances[q * 50 + j - 1]!, merged.distances[q * 50 + j]!];
          assert.ok(metric === 'ip' ? prev >= cur : prev <= cur, `query ${q} is sorted at ${j}`);
        }
      }
    });
  }

  it('drops removed ids (duplicates taken out of a sub-index) from its lists and from parsed lists, keeping the order', async () => {
    const dim = 16;
    const items = clustered(2000, dim, 8, 5);
    const ids = idsOf(2000);
    const queries = clustered(20, dim, 8, 6);
    const t = new ExactTopK(queries, dim, 'ip', 30);
    await t.addBatch(items, ids);
    await t.flush();
    const removed = new Set(listsOf(t).flatMap((l) => l.slice(0, 2)));
    const keep = [...ids].map((id, i) => [id, i] as const).filter(([id]) => !removed.has(id));
    const remaining = new Float32Array(keep.length * dim);
    keep.forEach(([, i], n) => {
      remaining.set(items.subarray(i * dim, (i + 1) * dim), n * dim);
    });
    const exact = bruteForce(queries, remaining, BigInt64Array.from(keep.map(([id]) => id)), dim, 30, 'ip');
    const parsed = dropIds(parseTruth(serializeTruth(t), 'x'), removed, 'ip');
    await t.removeIds(removed);
    for (const lists of [listsOf(t), listsOf(parsed)]) {
      lists.forEach((l, q) => {
        assert.ok(
          l.every((id) => !removed.has(id)),
          `query ${q}: no removed id`,
        );
        assert.deepEqual(l, exact[q]!.slice(0, l.length), `query ${q}: the exact order of what is left`);
      });
    }
  });

  it('holds fewer than k neighbours when a shard has fewer items, marked -1', async () => {
    const dim = 8;
    const t = new ExactTopK(clustered(3, dim, 1, 3), dim, 'ip', 10);
    await t.addBatch(clustered(4, dim, 1, 4), idsOf(4));
    await t.flush();
    const back = parseTruth(serializeTruth(t), 'x');
    assert.deepEqual(
      listsOf(back).map((l) => l.length),
      [4, 4, 4],
    );
    assert.equal(back.ids[4], -1n);
    assert.throws(() => parseTruth(Buffer.from('nope, not a truth file'), 'bad.bin'), /bad.bin is not a reindex truth file/);
  });
});

describe('recall measures', () => {
  const truth: TopK = {
    count: 2,
    k: 3,
    distances: Float32Array.from([0.9, 0.9, 0.5, 0.8, 0.7, 0.6]),
    ids: BigInt64Array.from([10n, 11n, 12n, 20n, 21n, 22n]),
  };

  it('count the exact nearest neighbour (ties included) and the intersection separately', () => {
    // Query 0 finds 11 (tied with the nearest, 10) at rank 1; query 1 misses 20 entirely.
    const labels = BigInt64Array.from([99n, 11n, 12n, 21n, 22n, 98n]);
    const r = recallOf(labels, 3, truth, 'ip');
    assert.equal(r.recallAt10, 0.5);
    assert.equal(r.recallAt100, 0.5);
    assert.equal(r.overlapAt10, Number(((2 / 3 + 2 / 3) / 2).toFixed(4)));
  });

  it('separates recall@10 from recall@100 when the neighbour ranks 11th to 100th', async () => {
    const labels = new BigInt64Array(200).fill(-1n);
    labels[50] = 10n; // query 0: the nearest at rank 50
    labels[100] = 20n; // query 1: the nearest first
    const r = recallOf(labels, 100, truth, 'ip');
    assert.deepEqual([r.recallAt10, r.recallAt100], [0.5, 1]);
  });

  it("leave each query's own item out of both lists when the queries are items of the index", () => {
    // Query 0 is item 10 itself: its nearest other item is 11 (tied at 0.9); query 1 is item 21,
    // so 20 stays its nearest. The ANN lists hold the query items first, as a self-search does.
    const labels = BigInt64Array.from([10n, 12n, 11n, 21n, 22n, 98n]);
    const selfIds = BigInt64Array.from([10n, 21n]);
    const r = recallOf(labels, 3, truth, 'ip', selfIds);
    // Query 0: 12 then 11 — 11 is tied with the leave-one-out nearest (11 itself), found. Query 1: 20 is missed.
    assert.equal(r.recallAt10, 0.5);
    // Query 0 without itself: exact {11, 12}, ANN {12, 11} → 1; query 1: exact {20, 22}, ANN {22, 98} → 1/2.
    assert.equal(r.overlapAt10, 0.75);
    // Without selfIds, query 0's self-hit (10) would count as finding the nearest.
    assert.equal(recallOf(BigInt64Array.from([10n, 99n, 98n, 20n, 0n, 0n]), 3, truth, 'ip').recallAt10, 1);
    assert.equal(recallOf(BigInt64Array.from([10n, 99n, 98n, 20n, 0n, 0n]), 3, truth, 'ip', selfIds).recallAt10, 0.5);
    assert.throws(() => recallOf(labels, 3, truth, 'ip', BigInt64Array.from([1n])), /1 query ids for 2 queries/);
  });
});

describe('nprobe sweep', () => {
  it('lists powers of two up to the cap, the cap, and configured extras', () => {
    assert.deepEqual(sweepValues(64), [1, 2, 4, 8, 16, 32, 64]);
    assert.deepEqual(sweepValues(100), [1, 2, 4, 8, 16, 32, 64, 100]);
    assert.deepEqual(sweepValues(64, 4, [24]), [1, 2, 4, 24]);
  });

  it('measures an IVF-PQ index: recall grows with nprobe and reaches the exact answer at nlist', async () => {
    const dim = 32;
    const n = 6000;
    const items = clustered(n, dim, 64, 5);
    const ids = idsOf(n);
    const queries = clustered(200, dim, 64, 6);
    const index = FaissIndex.fromFactory(dim, 'IVF32,Flat', 'ip');
    try {
      await index.train(items);
      await index.addWithIds(items, ids);
      const truth = new ExactTopK(queries, dim, 'ip');
      await truth.addBatch(items, ids);
      await truth.flush();
      const rows = await sweepNprobe(index, queries, truth, { metric: 'ip', nlist: 32, latencyBudgetMs: 1e9, latencyQueries: 20 });
      assert.deepEqual(
        rows.map((r) => r.nprobe),
        [1, 2, 4, 8, 16, 32],
      );
      for (let i = 1; i < rows.length; i++) assert.ok(rows[i]!.recallAt10 >= rows[i - 1]!.recallAt10 - 0.02, `recall@10 at nprobe ${rows[i]!.nprobe}`);
      const full = rows.at(-1)!;
      // IVF,Flat at nprobe = nlist is an exhaustive search: exactly the truth.
      assert.deepEqual([full.recallAt10, full.recallAt100, full.overlapAt10, full.overlapAt100], [1, 1, 1, 1]);
      assert.ok(rows[0]!.recallAt10 < 1, 'one list of 32 misses neighbours');
      for (const r of rows) assert.ok(r.recallAt100 >= r.recallAt10 && r.msPerQuery >= 0);
    } finally {
      await index.close();
    }
  });

  it('chooses the smallest nprobe reaching the target within the latency budget', () => {
    const row = (nprobe: number, recallAt10: number, msPerQuery: number): SweepRow => ({
      nprobe,
      recallAt10,
      recallAt100: recallAt10,
      overlapAt10: 0,
      overlapAt100: 0,
      msPerQuery,
    });
    const rows = [row(1, 0.6, 0.1), row(2, 0.9, 0.2), row(4, 0.96, 0.4), row(8, 0.99, 0.8), row(16, 1, 9)];
    assert.deepEqual(chooseNprobe(rows, { recallAt10: 0.95, latencyBudgetMs: 5 }), { nprobe: 4, reachesTarget: true, withinBudget: true });
    assert.deepEqual(chooseNprobe(rows, { recallAt10: 0.995, latencyBudgetMs: 5 }), { nprobe: 8, reachesTarget: false, withinBudget: true });
    assert.deepEqual(chooseNprobe(rows, { recallAt10: 0.95, latencyBudgetMs: 0.05 }), { nprobe: 1, reachesTarget: false, withinBudget: false });
    assert.deepEqual(chooseNprobe(rows, { recallAt10: 0.95, latencyBudgetMs: 5, fixedNprobe: 2 }), { nprobe: 2, reachesTarget: false, withinBudget: true });
  });
});

describe('quality gate', () => {
  const quality = DEFAULT_CONFIG.index.quality;
  const report = (over: Partial<QualityReport> = {}): QualityReport => ({
    measured: true,
    queries: 1000,
    definitions: DEFINITIONS,
    target: { recallAt10: 0.95, latencyBudgetMs: 5 },
    nprobe: 8,
    recallAt10: 0.96,
    reachesTarget: true,
    withinBudget: true,
    msPerQuery: 0.1,
    measureMs: 1,
    sweep: [{ nprobe: 8, recallAt10: 0.96, recallAt100: 0.97, overlapAt10: 0.6, overlapAt100: 0.5, msPerQuery: 0.1 }],
    ...over,
  });

  it('passes a build that reaches the target with a steady item count and few rejections', () => {
    const v = evaluateGate({ quality, report: report(), items: 1000, rejected: 10, previous: { version: 'v1', items: 1050 } });
    assert.equal(v.passed, true, JSON.stringify(v));
    assert.deepEqual(v.failed, []);
  });

  it('names every failed check', () => {
    const v = evaluateGate({
      quality,
      report: report({ recallAt10: 0.6, nprobe: 1, reachesTarget: false, target: { recallAt10: 0.95, latencyBudgetMs: 5, maxNprobe: 1 } }),
      items: 800,
      rejected: 100,
      previous: { version: 'v1', items: 1000 },
    });
    assert.equal(v.passed, false);
    assert.deepEqual(v.failed, ['recall', 'item-drop', 'rejected-rows']);
    const messages = v.checks.map((c) => c.message).join('\n');
    assert.match(messages, /no nprobe reaches recall@10 0.95 within 5 ms\/query, nprobe capped at 1/);
    assert.match(messages, /20.0% fewer than the 1000 of LATEST version v1 \(at most 10.0% allowed\)/);
    assert.match(messages, /100 of 900 rows rejected \(11.1%; at most 5.0% allowed\)/);
  });

  it('fails a build whose recall could not be measured, but not one from before the gate', () => {
    const unmeasured = report({ measured: false, skipped: 'shard 3 recorded no exact neighbours of the queries', sweep: [] });
    assert.deepEqual(evaluateGate({ quality, report: unmeasured, items: 10, rejected: 0 }).failed, ['recall']);
    assert.equal(evaluateGate({ quality: undefined, report: unmeasured, items: 10, rejected: 0 }).passed, true);
  });
});
