// pnpm run bench:train — coarse-quantizer training and assignment at the nlist the index rule
// gives large catalogues: flat k-means against two-level k-means (time and recall on the same
// data), and a flat against an HNSW coarse quantizer (add time per vector), on a Gaussian
// mixture of 128-d vectors. Writes its section of docs/benchmarks.md.
import { parseArgs } from 'node:util';
import { FaissIndex, nearestInTopK, type TrainOptions } from '@reindex/faiss';
import { machineLine, writeBenchSection, intOption } from './report.js';
import { mixtureVectors } from './random.js';
import { commandLineArgs } from '@reindex/core';

const { values } = parseArgs({
  args: commandLineArgs(),
  options: {
    items: { type: 'string', default: '1000000' },
    'no-write': { type: 'boolean', default: false },
  },
});
const n = intOption('items', values.items);
const dim = 128;
const modes = 500;
const spread = 0.5;
const nq = 500;
const all = mixtureVectors(n + nq, dim, modes, spread, 11);
const base = all.subarray(0, n * dim);
const queries = all.subarray(n * dim);
const ids = BigInt64Array.from({ length: n }, (_, i) => BigInt(i));

const exact = FaissIndex.fromFactory(dim, 'IDMap,Flat', 'l2');
await exact.addWithIds(base, ids);
const truth = (await exact.search(queries, 1)).labels;
await exact.close();

/** faiss-style 1-recall@10: the exact nearest neighbour is in the top 10. */
const recall1At10 = (labels: BigInt64Array): number => nearestInTopK(truth, labels, nq, 10);

interface Row {
  case: string;
  factory: string;
  sample: number;
  trainS: number;
  addUsPerItem: number;
  recall: Record<number, number>;
}
const rows: Row[] = [];
const nprobes = [1, 4, 16, 64];
async function measure(label: string, factory: string, sampleSize: number, options: TrainOptions): Promise<void> {
  const index = FaissIndex.fromFactory(dim, factory, 'l2');
  const sample = base.subarray(0, Math.min(n, sampleSize) * dim);
  let t = performance.now();
  await index.train(sample, options);
  const trainS = (performance.now() - t) / 1000;
  t = performance.now();
  await index.addWithIds(base, ids);
  const addUsPerItem = ((performance.now() - t) * 1000) / n;
  const recall: Record<number, number> = {};
  for (const nprobe of nprobes) recall[nprobe] = recall1At10((await index.search(queries, 10, { nprobe })).labels);
  await index.close();
  const row = { case: label, factory, sample: sample.length / dim, trainS, addUsPerItem, recall };
  console.log(JSON.stringify(row));
  rows.push(row);
}

// Training method at nlist 4,096 (where the rule switches), 50 points per centroid: exact codes
// (IVF,Flat) so recall measures only the partition, then PQ32 as published.
for (const code of ['Flat', 'PQ32']) {
  await measure('flat k-means', `IVF4096,${code}`, 4096 * 50, { coarseTraining: 'flat' });
  await measure('two-level k-means', `IVF4096,${code}`, 4096 * 50, { coarseTraining: 'two-level' });
}
// Coarse quantizer at nlist 16,384 (where the rule switches): the cost of assigning each vector.
await measure('two-level, flat quantizer', 'IVF16384,PQ32', 16_384 * 50, { coarseTraining: 'two-level' });
for (const ef of [16, 32]) {
  await measure(`two-level, HNSW32 efSearch ${ef}`, 'IVF16384_HNSW32,PQ32', 16_384 * 50, { coarseTraining: 'two-level', quantizerEfSearch: ef });
}

const table = [
  `| case | factory | sample | train s | add µs/vector | ${nprobes.map((p) => `R@10 nprobe ${p}`).join(' | ')} |`,
  `|---|---|---:|---:|---:|${nprobes.map(() => '---:').join('|')}|`,
  ...rows.map(
    (r) =>
      `| ${r.case} | \`${r.factory}\` | ${r.sample.toLocaleString('en')} | ${r.trainS.toFixed(1)} | ${r.addUsPerItem.toFixed(2)} | ${nprobes.map((p) => r.recall[p]!.toFixed(3)).join(' | ')} |`,
  ),
].join('\n');
const section = `## Coarse training and quantizer (\`pnpm run bench:train -- --items ${n}\`)

${machineLine()}. ${n.toLocaleString('en')} vectors of a ${modes}-mode Gaussian mixture (128-d, spread ${spread}), ${nq} held-out queries from the same mixture; R@10 = the exact nearest neighbour among the top 10 (faiss's 1-recall@10). Train on the first \`sample\` vectors (50 per list, the rule's default), add all, time on 2 faiss threads. Add time includes the coarse assignment and PQ encoding.

${table}
`;
if (!values['no-write']) await writeBenchSection('train', section);
console.log(section);
