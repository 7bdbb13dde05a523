// pnpm run bench:faiss — our faiss binding against @lancedb/lancedb on the same vectors, twice:
// 1. `--data random`: 100,000 random 128-d vectors, IVF256,PQ16 (LanceDB: IVF_PQ, 256
//    partitions, 16 sub-vectors), train on 65,536, add all, 1,000 queries at nprobe 16, recall@10
//    against exact search (a speed race: PQ16 on noise has useless recall for both);
// 2. `--data embeddings`: the item tower's embeddings of 1M sample items, each engine at the
//    build it needs for recall@10 ≥ 0.90 / 0.95 (faiss-embeddings.ts).
// Default: both.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import * as lancedb from '@lancedb/lancedb';
import * as ourFaiss from '@reindex/faiss';
import { DEFAULT_TRAIN_OPTIONS, FaissIndex, faissSimd, getDistanceBlasThreshold, getThreads, type TrainOptions } from '@reindex/faiss';
import { REPO_ROOT } from '@reindex/coordinator';
import { compareOnEmbeddings, embeddingSection } from './faiss-embeddings.js';
import { gaussianVectors, recallAtK } from './random.js';
import { machineLine, writeBenchSection, intOption } from './report.js';
import { commandLineArgs } from '@reindex/core';

const { values } = parseArgs({
  args: commandLineArgs(),
  options: {
    n: { type: 'string', default: '100000' },
    train: { type: 'string', default: '65536' },
    queries: { type: 'string', default: '1000' },
    dim: { type: 'string', default: '128' },
    skip: { type: 'string', default: '' },
    data: { type: 'string', default: 'random,embeddings' },
    items: { type: 'string', default: '1000000' },
    // Another build of this binding (e.g. linked against Debian's generic libfaiss) to time too.
    'compare-module': { type: 'string' },
    'no-write': { type: 'boolean', default: false },
  },
});
const n = intOption('n', values.n);
const nTrain = intOption('train', values.train);
const nq = intOption('queries', values.queries);
const dim = intOption('dim', values.dim);
const k = 10;
const nprobe = 16;

const seconds = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e9;

async function exactNeighbours(base: Float32Array, ids: BigInt64Array, queries: Float32Array) {
  const flat = FaissIndex.fromFactory(dim, 'IDMap,Flat', 'l2');
  await flat.addWithIds(base, ids);
  const { labels } = await flat.search(queries, k);
  await flat.close();
  return labels;
}

type FaissModule = typeof ourFaiss;

/** faiss's own defaults for what DEFAULT_TRAIN_OPTIONS changes. */
const FAISS_DEFAULT_TRAINING: TrainOptions = { polysemousTraining: true, pqPointsPerCentroid: 256, pqKmeansBlas: true };

async function benchFaiss(
  base: Float32Array,
  ids: BigInt64Array,
  queries: Float32Array,
  truth: BigInt64Array,
  module: FaissModule = ourFaiss,
  trainOptions: TrainOptions = {},
) {
  const index = module.FaissIndex.fromFactory(dim, 'IVF256,PQ16', 'l2');
  let t0 = process.hrtime.bigint();
  await index.train(base.subarray(0, nTrain * dim), trainOptions);
  const train = seconds(t0);
  t0 = process.hrtime.bigint();
  await index.addWithIds(base, ids);
  const add = seconds(t0);
  t0 = process.hrtime.bigint();
  const { labels } = await index.search(queries, k, { nprobe });
  const search = seconds(t0);
  await index.close();
  return { train, add, build: train + add, search, recall: recallAtK(truth, labels, nq, k) };
}

async function benchLance(base: Float32Array, queries: Float32Array, truth: BigInt64Array) {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'reindex-lance-'));
  try {
    const db = await lancedb.connect(dir);
    const rows = Array.from({ length: n }, (_, i) => ({ id: i, vector: Array.from(base.subarray(i * dim, (i + 1) * dim)) }));
    let t0 = process.hrtime.bigint();
    const table = await db.createTable('vectors', rows);
    const ingest = seconds(t0);
    t0 = process.hrtime.bigint();
    await table.createIndex('vector', {
      config: lancedb.Index.ivfPq({ numPartitions: 256, numSubVectors: 16, distanceType: 'l2', sampleRate: Math.ceil(nTrain / 256) }),
    });
    const build = seconds(t0);
    t0 = process.hrtime.bigint();
    const labels: number[] = [];
    for (let q = 0; q < nq; q++) {
      const hits = await table
        .query()
        .nearestTo(Array.from(queries.subarray(q * dim, (q + 1) * dim)))
        .nprobes(nprobe)
        .limit(k)
        .select(['id'])
        .toArray();
      for (let j = 0; j < k; j++) labels.push(hits[j]?.id ?? -1);
    }
    const search = seconds(t0);
    return { ingest, build, search, recall: recallAtK(truth, labels, nq, k) };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const data = new Set(values.data.split(','));
for (const d of data) if (d !== 'random' && d !== 'embeddings') throw new Error(`--data takes random and/or embeddings, got ${values.data}`);

if (data.has('embeddings')) {
  const items = intOption('items', values.items, 10_000);
  const comparison = await compareOnEmbeddings({
    items,
    queries: nq,
    cacheDir: path.join(REPO_ROOT, 'var/bench/faiss'),
    skipLance: values.skip.includes('lance'),
  });
  const command = `pnpm run bench:faiss -- --data embeddings${items === 1_000_000 ? '' : ` --items ${items}`}`;
  const section = embeddingSection(
    comparison,
    `## faiss binding vs LanceDB on item-tower embeddings (\`${command}\`)

Command: \`${command}\` · ${new Date().toISOString().slice(0, 10)} · ${machineLine()} · faiss threads ${getThreads()} (LanceDB: its own pool, all cores)`,
  );
  console.log(section);
  if (!values['no-write']) await writeBenchSection('faiss-embeddings', section);
}
if (!data.has('random')) process.exit(0);

const base = gaussianVectors(n, dim, 1);
const queries = gaussianVectors(nq, dim, 2);
const ids = BigInt64Array.from({ length: n }, (_, i) => BigInt(i));
const truth = await exactNeighbours(base, ids, queries);
const ours = await benchFaiss(base, ids, queries, truth);
console.log('faiss', ours);
const oursFaissDefaults = await benchFaiss(base, ids, queries, truth, ourFaiss, FAISS_DEFAULT_TRAINING);
console.log('faiss, faiss default training', oursFaissDefaults);
const other = values['compare-module'] ? ((await import(values['compare-module'])) as FaissModule) : undefined;
const otherRuns = other ? [await benchFaiss(base, ids, queries, truth, other), await benchFaiss(base, ids, queries, truth, other, FAISS_DEFAULT_TRAINING)] : [];
if (other) console.log(`faiss ${other.faissSimd}`, otherRuns);
const lance = values.skip.includes('lance') ? undefined : await benchLance(base, queries, truth);
if (lance) console.log('lancedb', lance);

if (!values['no-write']) {
  const fmt = (x: number) => x.toFixed(2);
  type Run = Awaited<ReturnType<typeof benchFaiss>>;
  const row = (label: string, r: Run) => `| ${label} | ${fmt(r.train)} | ${fmt(r.add)} | **${fmt(r.build)}** | ${fmt(r.search)} | ${r.recall.toFixed(3)} |`;
  const ourKnobs = `polysemous ${DEFAULT_TRAIN_OPTIONS.polysemousTraining ? 'on' : 'off'}, ${DEFAULT_TRAIN_OPTIONS.pqPointsPerCentroid} pts/centroid, PQ k-means ${DEFAULT_TRAIN_OPTIONS.pqKmeansBlas ? 'BLAS' : 'SIMD'}`;
  const faissKnobs = 'faiss defaults: polysemous on, 256 pts/centroid, PQ k-means BLAS';
  const rows = [
    row(`@reindex/faiss, faiss 1.7.3 ${faissSimd} (ours: ${ourKnobs})`, ours),
    row(`@reindex/faiss, faiss 1.7.3 ${faissSimd} (${faissKnobs})`, oursFaissDefaults),
  ];
  if (other && otherRuns.length === 2) {
    rows.push(row(`@reindex/faiss, Debian libfaiss-dev 1.7.3 ${other.faissSimd} (${ourKnobs})`, otherRuns[0]!));
    rows.push(row(`@reindex/faiss, Debian libfaiss-dev 1.7.3 ${other.faissSimd} (${faissKnobs})`, otherRuns[1]!));
  }
  if (lance)
    rows.push(
      `| @lancedb/lancedb 0.39 | — | — | **${fmt(lance.build)}** (+ ${fmt(lance.ingest)} table write) | ${fmt(lance.search)} | ${lance.recall.toFixed(3)} |`,
    );
  await writeBenchSection(
    'faiss',
    `## faiss binding vs LanceDB (IVF-PQ build)

Command: \`pnpm run bench:faiss${values['compare-module'] ? ' -- --compare-module <generic build>' : ''}\` · ${new Date().toISOString().slice(0, 10)} · ${machineLine()} · faiss threads ${getThreads()}, BLAS threshold ${getDistanceBlasThreshold()}

${n.toLocaleString('en')} random ${dim}-d Gaussian vectors, \`IVF256,PQ16\` (LanceDB: IVF_PQ, 256 partitions, 16 sub-vectors, L2), train on ${nTrain.toLocaleString('en')}, add all, ${nq.toLocaleString('en')} queries at nprobe ${nprobe}; recall@10 against exact (faiss \`IDMap,Flat\`).

| engine | train s | add s | train + add s | search s (${nq} queries) | recall@10 |
|---|---|---|---|---|---|
${rows.join('\n')}
${lance ? `\nRatio (ours / LanceDB, train + add): **${(ours.build / lance.build).toFixed(2)}** (goal ≤ 0.33 at equal or better recall).` : ''}`,
  );
}
