// The faiss-vs-LanceDB comparison on meaningful data: the reference item tower's embeddings of
// sample-catalogue items, queried with the query tower's (head-collapsed) vectors of held-out
// titles, inner product. Each engine climbs the same ladder of IVF-PQ builds (cheapest first)
// and is searched at every nprobe; the table says which build each engine needs to reach a
// recall target at its own best nprobe, and what that build cost. Same threads, same run.
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import * as arrow from 'apache-arrow';
import * as lancedb from '@lancedb/lancedb';
import { FaissIndex, nearestInTopK, topKOverlap } from '@reindex/faiss';
import { ItemEmbedder, QueryEncoder, buildReferenceBundle, collapseHeads, loadBundle } from '@reindex/item-tower';
import { CatalogueGenerator } from '@reindex/sample-catalogue';

export interface EmbeddingComparisonOptions {
  items: number;
  queries: number;
  /** Where embeddings are cached between runs (they cost a minute to compute). */
  cacheDir: string;
  /** Skip LanceDB (e.g. to time our side alone). */
  skipLance: boolean;
}

/** One rung of the ladder: the same IVF-PQ shape for both engines. */
export interface Rung {
  nlist: number;
  m: number;
}

export const LADDER: readonly Rung[] = [
  { nlist: 1024, m: 16 },
  { nlist: 1024, m: 32 },
  { nlist: 1024, m: 64 },
];
export const NPROBES = [1, 2, 4, 8, 16, 32, 64, 128, 256] as const;
export const TARGETS = [0.9, 0.95] as const;
/** Training vectors per list, for both engines (LanceDB's default sample rate). */
const POINTS_PER_LIST = 256;
const K = 10;

export interface SearchRow {
  nprobe: number;
  /** Fraction of queries whose exact nearest neighbour is in the top 10 (the gate's recall@10). */
  recallAt10: number;
  /** Mean |top 10 ∩ exact top 10| / 10. */
  overlapAt10: number;
  msPerQuery: number;
}

export interface RungResult {
  engine: 'faiss' | 'lancedb';
  rung: Rung;
  /** Table write (LanceDB) — not part of the index build. */
  ingestS: number;
  /** Train + add (faiss), createIndex (LanceDB). */
  buildS: number;
  rows: SearchRow[];
}

const seconds = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e9;

/** Item vectors of `items` generated items and query vectors of `queries` held-out titles (cached). */
async function embeddings(o: EmbeddingComparisonOptions): Promise<{ base: Float32Array; queries: Float32Array; dim: number; embedS: number }> {
  const baseFile = path.join(o.cacheDir, `embeddings-${o.items}.f32`);
  const queryFile = path.join(o.cacheDir, `queries-${o.items}-${o.queries}.f32`);
  const modelDir = path.join(o.cacheDir, 'reference-model');
  await mkdir(o.cacheDir, { recursive: true });
  await buildReferenceBundle(modelDir);
  const bundle = await loadBundle(modelDir);
  const dim = bundle.manifest.dim;
  const cached = await Promise.all([readFile(baseFile), readFile(queryFile)]).catch(() => undefined);
  if (cached) {
    const [b, q] = cached;
    return { base: new Float32Array(b.buffer, b.byteOffset, b.length / 4), queries: new Float32Array(q.buffer, q.byteOffset, q.length / 4), dim, embedS: NaN };
  }
  const generator = new CatalogueGenerator({ oddRate: 0 });
  const embedder = await ItemEmbedder.create(bundle);
  const t0 = process.hrtime.bigint();
  const base = new Float32Array(o.items * dim);
  let n = 0;
  for (let start = 0; start < o.items; start += 8192) {
    const rows = Array.from({ length: Math.min(8192, o.items - start) }, (_, i) => generator.item(start + i).item);
    const out = await embedder.embed(rows);
    base.set(out.vectors, n * dim);
    n += out.ids.length;
  }
  const embedS = seconds(t0);
  await embedder.close();
  if (n !== o.items) throw new Error(`the item tower rejected ${o.items - n} of ${o.items} generated items`);
  // Held-out titles (items after the base), through the query tower, collapsed to one vector.
  const encoder = await QueryEncoder.create(bundle);
  const titles = Array.from({ length: o.queries }, (_, i) => String(generator.item(o.items + i).item.title));
  const heads = await encoder.encode(titles);
  await encoder.close();
  const fusion = bundle.manifest.query!.fusion;
  if (fusion.kind === 'max') throw new Error('the reference query tower fuses by max: one vector per query cannot reproduce it');
  const queries = new Float32Array(o.queries * dim);
  const per = encoder.heads * dim;
  for (let i = 0; i < o.queries; i++) queries.set(collapseHeads(heads.subarray(i * per, (i + 1) * per), dim, fusion), i * dim);
  await writeFile(baseFile, Buffer.from(base.buffer));
  await writeFile(queryFile, Buffer.from(queries.buffer));
  return { base, queries, dim, embedS };
}

function score(exact: BigInt64Array, labels: ArrayLike<bigint | number>, queries: number): { recallAt10: number; overlapAt10: number } {
  return { recallAt10: nearestInTopK(exact, labels, queries, K, K), overlapAt10: topKOverlap(exact, labels, queries, K) };
}

async function faissRung(base: Float32Array, queries: Float32Array, exact: BigInt64Array, dim: number, rung: Rung): Promise<RungResult> {
  const n = base.length / dim;
  const nq = queries.length / dim;
  const index = FaissIndex.fromFactory(dim, `IVF${rung.nlist},PQ${rung.m}`, 'ip');
  try {
    const t0 = process.hrtime.bigint();
    await index.train(base.subarray(0, Math.min(n, rung.nlist * POINTS_PER_LIST) * dim));
    await index.addWithIds(
      base,
      BigInt64Array.from({ length: n }, (_, i) => BigInt(i)),
    );
    const buildS = seconds(t0);
    const rows: SearchRow[] = [];
    for (const nprobe of NPROBES) {
      const t1 = process.hrtime.bigint();
      // One query per call, as a serving process answers them (and as LanceDB is queried).
      const labels = new BigInt64Array(nq * K);
      for (let q = 0; q < nq; q++) labels.set((await index.search(queries.subarray(q * dim, (q + 1) * dim), K, { nprobe })).labels, q * K);
      rows.push({ nprobe, ...score(exact, labels, nq), msPerQuery: (seconds(t1) * 1000) / nq });
    }
    return { engine: 'faiss', rung, ingestS: 0, buildS, rows };
  } finally {
    await index.close();
  }
}

async function lanceRung(base: Float32Array, queries: Float32Array, exact: BigInt64Array, dim: number, rung: Rung): Promise<RungResult> {
  const n = base.length / dim;
  const nq = queries.length / dim;
  const dir = await mkdtemp(path.join(os.tmpdir(), 'reindex-lance-'));
  try {
    const db = await lancedb.connect(dir);
    // A FixedSizeList<Float32> column straight from the Float32Array (no per-row JS arrays).
    const values = arrow.makeData({ type: new arrow.Float32(), length: base.length, data: base });
    const vectorType = new arrow.FixedSizeList(dim, new arrow.Field('item', new arrow.Float32(), true));
    const vectors = arrow.makeVector(arrow.makeData({ type: vectorType, length: n, nullCount: 0, child: values }));
    const ids = arrow.makeVector(Int32Array.from({ length: n }, (_, i) => i));
    let t0 = process.hrtime.bigint();
    const table = await db.createTable('vectors', new arrow.Table({ id: ids, vector: vectors }));
    const ingestS = seconds(t0);
    t0 = process.hrtime.bigint();
    await table.createIndex('vector', {
      config: lancedb.Index.ivfPq({ numPartitions: rung.nlist, numSubVectors: rung.m, distanceType: 'dot', sampleRate: POINTS_PER_LIST }),
    });
    const buildS = seconds(t0);
    const rows: SearchRow[] = [];
    for (const nprobe of NPROBES) {
      const labels: number[] = [];
      const t1 = process.hrtime.bigint();
      for (let q = 0; q < nq; q++) {
        const hits = await table
          .query()
          .nearestTo(queries.subarray(q * dim, (q + 1) * dim))
          .distanceType('dot')
          .nprobes(nprobe)
          .limit(K)
          .select(['id', '_distance'])
          .toArray();
        for (let j = 0; j < K; j++) labels.push((hits[j]?.id as number | undefined) ?? -1);
      }
      rows.push({ nprobe, ...score(exact, labels, nq), msPerQuery: (seconds(t1) * 1000) / nq });
    }
    return { engine: 'lancedb', rung, ingestS, buildS, rows };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export interface EmbeddingComparison {
  items: number;
  queries: number;
  dim: number;
  embedS: number;
  results: RungResult[];
}

/** Runs each engine up the ladder until its best nprobe reaches the highest target (or the ladder ends). */
export async function compareOnEmbeddings(o: EmbeddingComparisonOptions): Promise<EmbeddingComparison> {
  const { base, queries, dim, embedS } = await embeddings(o);
  const flat = FaissIndex.fromFactory(dim, 'IDMap,Flat', 'ip');
  await flat.addWithIds(
    base,
    BigInt64Array.from({ length: base.length / dim }, (_, i) => BigInt(i)),
  );
  const exact = (await flat.search(queries, K)).labels;
  await flat.close();
  const results: RungResult[] = [];
  const top = TARGETS[TARGETS.length - 1]!;
  for (const engine of o.skipLance ? ['faiss' as const] : ['faiss' as const, 'lancedb' as const]) {
    for (const rung of LADDER) {
      const r = engine === 'faiss' ? await faissRung(base, queries, exact, dim, rung) : await lanceRung(base, queries, exact, dim, rung);
      console.log(engine, JSON.stringify(r));
      results.push(r);
      if (r.rows.some((row) => row.recallAt10 >= top)) break;
    }
  }
  return { items: o.items, queries: o.queries, dim, embedS, results };
}

/** The markdown of the comparison: every rung measured, then the cheapest build per engine and target. */
export function embeddingSection(c: EmbeddingComparison, header: string): string {
  const f2 = (x: number) => x.toFixed(2);
  const best = (r: RungResult) => r.rows.reduce((b, row) => (row.recallAt10 > b.recallAt10 ? row : b));
  const lines = c.results.map((r) => {
    const b = best(r);
    const at = (t: number) => r.rows.find((row) => row.recallAt10 >= t);
    const cell = (t: number) => {
      const row = at(t);
      return row ? `${row.nprobe} (${row.msPerQuery.toFixed(2)} ms)` : '–';
    };
    return `| ${r.engine} | IVF${r.rung.nlist},PQ${r.rung.m} | **${f2(r.buildS)}**${r.engine === 'lancedb' ? ` (+ ${f2(r.ingestS)} table write)` : ''} | ${b.recallAt10.toFixed(3)} at nprobe ${b.nprobe} | ${b.overlapAt10.toFixed(3)} | ${TARGETS.map(cell).join(' | ')} |`;
  });
  const needs = TARGETS.map((t) => {
    const first = (engine: string) => c.results.find((r) => r.engine === engine && r.rows.some((row) => row.recallAt10 >= t));
    const ours = first('faiss');
    const theirs = first('lancedb');
    const describe = (r: RungResult | undefined) => (r ? `IVF${r.rung.nlist},PQ${r.rung.m}, ${f2(r.buildS)} s` : 'not reached on the ladder');
    const ratio = ours && theirs ? ` → ours / LanceDB build time **${(ours.buildS / theirs.buildS).toFixed(2)}** (goal ≤ 0.33)` : '';
    return `- recall@10 ≥ ${t}: faiss ${describe(ours)}; LanceDB ${describe(theirs)}${ratio}.`;
  });
  return `${header}

${c.items.toLocaleString('en')} sample-catalogue items embedded by the reference item tower (dim ${c.dim}, unit vectors${Number.isFinite(c.embedS) ? `, embedded in ${c.embedS.toFixed(1)} s` : ', embeddings cached from an earlier run'}), ${c.queries.toLocaleString('en')} queries: held-out items' titles through the query tower (mean fusion, collapsed to one vector), inner product; exact top 10 from faiss \`IDMap,Flat\`. Both engines build the same IVF-PQ shapes, cheapest first, trained on ${POINTS_PER_LIST} vectors per list, and are searched one query at a time at nprobe ${NPROBES.join(', ')}; each stops climbing once a build reaches recall@10 ${TARGETS[TARGETS.length - 1]}. recall@10 is the gate's (the exact nearest item among the top 10); overlap@10 is |top 10 ∩ exact top 10| / 10. LanceDB: \`Index.ivfPq\` with its other defaults, \`distanceType: 'dot'\`, no refine step.

| engine | build | build s | best recall@10 | overlap@10 there | nprobe for recall@10 ≥ ${TARGETS.join(' | nprobe for ≥ ')} |
|---|---|---:|---:|---:|${TARGETS.map(() => '---:').join('|')}|
${lines.join('\n')}

${needs.join('\n')}`;
}
