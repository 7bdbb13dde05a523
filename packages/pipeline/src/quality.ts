import { BuildIntegrityError } from './build-spec.js';
/**
 * Quality of an ANN index against exact search: the running exact top-k that shard jobs keep
 * (so ground truth is computed where the vectors already are, and scales with the shards), its
 * file format, and the nprobe sweep the publish job runs on the merged index.
 *
 * Two recall numbers, both over the held-out queries:
 * - `recallAtK` (gated, faiss's "1-recall@k" / "R@k"): the fraction of queries whose exact
 *   nearest neighbour is among the ANN top k. Ties at the top count: any item whose exact score
 *   equals the nearest one's (duplicates) is accepted.
 * - `overlapAtK` (intersection recall): the mean of |ANN top k ∩ exact top k| / k. PQ codes
 *   reorder near neighbours, so this saturates well below 1 (about 0.74 for PQ32 on 128-d).
 */
import { FaissIndex } from '@reindex/faiss';

/** Neighbours kept per query: the exact top 100 (recall@100 needs no more). */
export const TRUTH_K = 100;
/** Queries timed one at a time for the latency column (the recall columns use every query). */
export const LATENCY_QUERIES = 200;

const TRUTH_MAGIC = 0x31545852; // "RXT1" little-endian
const TRUTH_HEADER_BYTES = 16;

export type Metric = 'ip' | 'l2';

/** Exact top-k lists of `count` queries: `distances`/`ids` are `count × k`, best first, -1 = none. */
export interface TopK {
  count: number;
  k: number;
  distances: Float32Array;
  ids: BigInt64Array;
}

/** Items buffered before one exact search (a larger flat search amortises the merge). */
export const TRUTH_BATCH_ITEMS = 8192;

/**
 * The running exact top-k of a fixed set of queries over batches of items. Memory is bounded
 * whatever the number of items: `count × k × 12` bytes of lists (1,000 queries: 1.2 MB) plus a
 * buffer of {@link TRUTH_BATCH_ITEMS} vectors (4 MiB at 128-d).
 */
export class ExactTopK implements TopK {
  readonly count: number;
  readonly distances: Float32Array;
  readonly ids: BigInt64Array;
  /** Valid entries of each query's list (the rest hold -1). */
  readonly #filled: Int32Array;
  #buffer: Float32Array;
  #bufferIds: BigInt64Array;
  #buffered = 0;

  constructor(
    readonly queries: Float32Array,
    readonly dim: number,
    readonly metric: Metric,
    readonly k = TRUTH_K,
    readonly batchItems = TRUTH_BATCH_ITEMS,
  ) {
    if (queries.length % dim !== 0) throw new RangeError(`queries hold ${queries.length} floats, not a multiple of dim ${dim}`);
    this.count = queries.length / dim;
    this.distances = new Float32Array(this.count * k).fill(metric === 'ip' ? -Infinity : Infinity);
    this.ids = new BigInt64Array(this.count * k).fill(-1n);
    this.#filled = new Int32Array(this.count);
    this.#buffer = new Float32Array(batchItems * dim);
    this.#bufferIds = new BigInt64Array(batchItems);
  }

  /**
   * Adds items (`vectors` is `ids.length × dim`): buffered, and searched exactly (a flat index
   * of the buffer, `IDMap,Flat`) whenever the buffer fills. Call {@link flush} after the last;
   * one call at a time (await each).
   */
  async addBatch(vectors: Float32Array, ids: BigInt64Array): Promise<void> {
    let offset = 0;
    while (offset < ids.length) {
      const n = Math.min(ids.length - offset, this.batchItems - this.#buffered);
      this.#buffer.set(vectors.subarray(offset * this.dim, (offset + n) * this.dim), this.#buffered * this.dim);
      this.#bufferIds.set(ids.subarray(offset, offset + n), this.#buffered);
      this.#buffered += n;
      offset += n;
      if (this.#buffered === this.batchItems) await this.flush();
    }
  }

  /** Searches the buffered items and folds their hits into the lists. */
  async flush(): Promise<void> {
    const n = this.#buffered;
    if (n === 0 || this.count === 0) return;
    this.#buffered = 0;
    const flat = FaissIndex.fromFactory(this.dim, 'IDMap,Flat', this.metric);
    try {
      await flat.addWithIds(this.#buffer.subarray(0, n * this.dim), this.#bufferIds.subarray(0, n));
      // k <= items: a flat search then fills every slot, no -1 labels.
      const kk = Math.min(this.k, n);
      const r = await flat.search(this.queries, kk);
      this.fold({ count: this.count, k: kk, distances: r.distances, ids: r.labels });
    } finally {
      await flat.close();
    }
  }

  /**
   * Drops every entry of `ids` from the lists (items a shard took out of its sub-index again:
   * duplicates, the losing side of a hash collision), after searching what is buffered. The
   * lists keep their order; each loses the slots it held for those ids.
   */
  async removeIds(ids: ReadonlySet<bigint>): Promise<void> {
    await this.flush();
    if (ids.size === 0) return;
    const kept = dropIds(this, ids);
    this.ids.set(kept.ids);
    this.distances.set(kept.distances);
    for (let q = 0; q < this.count; q++) {
      let n = 0;
      while (n < this.k && kept.ids[q * this.k + n] !== -1n) n++;
      this.#filled[q] = n;
    }
  }

  /** Merges other best-first lists of the same queries (any k; -1 labels only at the end) into these. */
  fold(other: TopK): void {
    if (other.count !== this.count) throw new RangeError(`cannot merge top-k lists of ${other.count} queries into ${this.count}`);
    const { k, metric } = this;
    const ip = metric === 'ip';
    // ids are copied as int32 pairs: reading a BigInt64Array element allocates a BigInt.
    const mine = new Int32Array(this.ids.buffer, this.ids.byteOffset, this.ids.length * 2);
    const theirs = new Int32Array(other.ids.buffer, other.ids.byteOffset, other.ids.length * 2);
    const d = new Float32Array(k);
    const l = new Int32Array(k * 2);
    for (let q = 0; q < this.count; q++) {
      const a = q * k;
      const b = q * other.k;
      const an = this.#filled[q]!;
      let bn = other.k;
      while (bn > 0 && other.ids[b + bn - 1]! < 0n) bn--;
      const total = Math.min(k, an + bn);
      let i = 0;
      let j = 0;
      for (let n = 0; n < total; n++) {
        let takeOther: boolean;
        if (j >= bn) takeOther = false;
        else if (i >= an) takeOther = true;
        else {
          const x = other.distances[b + j]!;
          const y = this.distances[a + i]!;
          takeOther = ip ? x > y : x < y;
          if (x === y) takeOther = other.ids[b + j]! < this.ids[a + i]!; // ties: lower id first
        }
        if (takeOther) {
          d[n] = other.distances[b + j]!;
          l[2 * n] = theirs[2 * (b + j)]!;
          l[2 * n + 1] = theirs[2 * (b + j) + 1]!;
          j++;
        } else {
          d[n] = this.distances[a + i]!;
          l[2 * n] = mine[2 * (a + i)]!;
          l[2 * n + 1] = mine[2 * (a + i) + 1]!;
          i++;
        }
      }
      this.distances.set(d.subarray(0, total), a);
      mine.set(l.subarray(0, 2 * total), 2 * a);
      this.#filled[q] = total;
    }
  }
}

/** `shards/<i>.truth.bin`: a 16-byte header (magic, count, k), float32 distances, int64 ids. */
export function serializeTruth(t: TopK): Buffer {
  const n = t.count * t.k;
  const out = Buffer.alloc(TRUTH_HEADER_BYTES + n * 12);
  out.writeUInt32LE(TRUTH_MAGIC, 0);
  out.writeUInt32LE(t.count, 4);
  out.writeUInt32LE(t.k, 8);
  Buffer.from(t.distances.buffer, t.distances.byteOffset, n * 4).copy(out, TRUTH_HEADER_BYTES);
  Buffer.from(t.ids.buffer, t.ids.byteOffset, n * 8).copy(out, TRUTH_HEADER_BYTES + n * 4);
  return out;
}

export function parseTruth(body: Buffer, source: string): TopK {
  if (body.length < TRUTH_HEADER_BYTES || body.readUInt32LE(0) !== TRUTH_MAGIC) throw new BuildIntegrityError(`${source} is not a reindex truth file`);
  const count = body.readUInt32LE(4);
  const k = body.readUInt32LE(8);
  const n = count * k;
  if (body.length !== TRUTH_HEADER_BYTES + n * 12)
    throw new BuildIntegrityError(`${source} has ${body.length} bytes, expected ${TRUTH_HEADER_BYTES + n * 12} for ${count} queries × ${k}`);
  const distances = new Float32Array(n);
  const ids = new BigInt64Array(n);
  body.copy(Buffer.from(distances.buffer), 0, TRUTH_HEADER_BYTES, TRUTH_HEADER_BYTES + n * 4);
  body.copy(Buffer.from(ids.buffer), 0, TRUTH_HEADER_BYTES + n * 4);
  return { count, k, distances, ids };
}

/**
 * The lists without the entries of `ids`, order kept, each list's freed slots at its end (-1,
 * and the metric's worst distance), as {@link ExactTopK.fold} expects.
 */
export function dropIds(lists: TopK & { metric?: Metric }, ids: ReadonlySet<bigint>, metric: Metric = lists.metric ?? 'ip'): TopK {
  const { count, k } = lists;
  const out = { count, k, ids: new BigInt64Array(count * k).fill(-1n), distances: new Float32Array(count * k).fill(metric === 'ip' ? -Infinity : Infinity) };
  for (let q = 0; q < count; q++) {
    let kept = 0;
    for (let i = 0; i < k; i++) {
      const id = lists.ids[q * k + i]!;
      if (id === -1n) break;
      if (ids.has(id)) continue;
      out.ids[q * k + kept] = id;
      out.distances[q * k + kept] = lists.distances[q * k + i]!;
      kept++;
    }
  }
  return out;
}

/** One row of the nprobe sweep. */
export interface SweepRow {
  nprobe: number;
  /** Fraction of queries whose exact nearest neighbour is in the ANN top 10 (gated). */
  recallAt10: number;
  /** ... in the ANN top 100. */
  recallAt100: number;
  /** Mean |ANN top 10 ∩ exact top 10| / 10. */
  overlapAt10: number;
  /** Mean |ANN top 100 ∩ exact top 100| / 100. */
  overlapAt100: number;
  /** Mean time of one single-query search (k = 10), milliseconds. */
  msPerQuery: number;
}

export interface SweepOptions {
  metric: Metric;
  nlist: number;
  /** Highest nprobe tried. Default nlist. */
  maxNprobe?: number;
  /** Also measure these nprobe values (e.g. one fixed by configuration), whatever the cap. */
  extra?: number[];
  /**
   * Once a row is slower than this, larger nprobe values (slower still) are skipped, except
   * `extra`: at a billion vectors a full-scan nprobe would cost seconds per query.
   */
  latencyBudgetMs: number;
  /** Queries timed one at a time. Default {@link LATENCY_QUERIES}. */
  latencyQueries?: number;
  /** Each query's own item, left out of the lists (see {@link recallOf}). */
  selfIds?: BigInt64Array;
}

/** nprobe values of the sweep: powers of two up to the cap, the cap itself, and `extra`. */
export function sweepValues(nlist: number, maxNprobe = nlist, extra: number[] = []): number[] {
  const cap = Math.max(1, Math.min(nlist, maxNprobe));
  const values = new Set<number>(extra.filter((v) => v >= 1));
  for (let p = 1; p < cap; p *= 2) values.add(p);
  values.add(cap);
  return [...values].sort((a, b) => a - b);
}

/** Measures recall and latency of `index` at each nprobe of the sweep against the exact lists. */
export async function sweepNprobe(index: FaissIndex, queries: Float32Array, truth: TopK, options: SweepOptions): Promise<SweepRow[]> {
  const dim = index.dim;
  const count = queries.length / dim;
  if (count !== truth.count) throw new RangeError(`${count} queries but exact lists for ${truth.count}`);
  const timed = Math.min(count, options.latencyQueries ?? LATENCY_QUERIES);
  const extra = new Set(options.extra ?? []);
  const rows: SweepRow[] = [];
  let overBudget = false;
  for (const nprobe of sweepValues(options.nlist, options.maxNprobe, options.extra)) {
    if (overBudget && !extra.has(nprobe)) continue;
    const k = Math.min(TRUTH_K, Math.max(1, index.ntotal));
    const { labels } = await index.search(queries, k, { nprobe });
    const recall = recallOf(labels, k, truth, options.metric, options.selfIds);
    await index.search(queries.subarray(0, dim), 10, { nprobe }); // warm-up
    const t0 = process.hrtime.bigint();
    for (let q = 0; q < timed; q++) await index.search(queries.subarray(q * dim, (q + 1) * dim), 10, { nprobe });
    const msPerQuery = timed === 0 ? 0 : Number(process.hrtime.bigint() - t0) / 1e6 / timed;
    rows.push({ nprobe, ...recall, msPerQuery: round(msPerQuery, 4) });
    if (msPerQuery > options.latencyBudgetMs) overBudget = true;
  }
  return rows;
}

/**
 * Recall and overlap of ANN lists (`count × annK`) against the exact lists. With `selfIds`
 * (one per query, -1 for none), each query's own item is left out of both lists first: the
 * queries are items of the index (see `QueryFileInfo.selfIds`).
 */
export function recallOf(labels: BigInt64Array, annK: number, truth: TopK, _metric: Metric, selfIds?: BigInt64Array): Omit<SweepRow, 'nprobe' | 'msPerQuery'> {
  if (selfIds !== undefined && selfIds.length !== truth.count) throw new RangeError(`${selfIds.length} query ids for ${truth.count} queries`);
  let measured = 0;
  let hit10 = 0;
  let hit100 = 0;
  let overlap10 = 0;
  let overlap100 = 0;
  const exactIds: bigint[] = [];
  const exactDistances: number[] = [];
  const annIds: bigint[] = [];
  for (let q = 0; q < truth.count; q++) {
    const self = selfIds?.[q] ?? -1n;
    const t = q * truth.k;
    exactIds.length = 0;
    exactDistances.length = 0;
    for (let j = 0; j < truth.k && truth.ids[t + j]! >= 0n; j++) {
      if (truth.ids[t + j] === self) continue;
      exactIds.push(truth.ids[t + j]!);
      exactDistances.push(truth.distances[t + j]!);
    }
    if (exactIds.length === 0) continue; // no exact neighbour (empty index, or only the query's own item)
    measured++;
    annIds.length = 0;
    // Ranks count empty (-1) slots as faiss returns them; only the query's own item is removed.
    for (let j = 0; j < annK && annIds.length < 100; j++) {
      const id = labels[q * annK + j]!;
      if (id !== self || id < 0n) annIds.push(id);
    }
    // The exact nearest neighbour, with every item tied with it (duplicates score the same).
    const best = exactDistances[0]!;
    const tolerance = 1e-5 * Math.max(1, Math.abs(best));
    const nearest = new Set<bigint>();
    for (let j = 0; j < exactIds.length && Math.abs(exactDistances[j]! - best) <= tolerance; j++) nearest.add(exactIds[j]!);
    const exact10 = new Set(exactIds.slice(0, 10));
    const exact100 = new Set(exactIds.slice(0, 100));
    let found10 = false;
    let found100 = false;
    let in10 = 0;
    let in100 = 0;
    annIds.forEach((id, j) => {
      if (id < 0n) return;
      if (nearest.has(id)) {
        found100 = true;
        if (j < 10) found10 = true;
      }
      if (j < 10 && exact10.has(id)) in10++;
      if (exact100.has(id)) in100++;
    });
    if (found10) hit10++;
    if (found100) hit100++;
    overlap10 += in10 / Math.min(10, exact10.size);
    overlap100 += in100 / Math.min(100, exact100.size);
  }
  const frac = (x: number) => (measured === 0 ? 0 : round(x / measured, 4));
  return { recallAt10: frac(hit10), recallAt100: frac(hit100), overlapAt10: frac(overlap10), overlapAt100: frac(overlap100) };
}

export interface NprobeChoice {
  nprobe: number;
  /** The chosen row reaches the target recall@10. */
  reachesTarget: boolean;
  /** The chosen row is within the latency budget. */
  withinBudget: boolean;
}

/**
 * The smallest nprobe whose recall@10 reaches the target within the latency budget. Without
 * one: the best recall@10 within the budget (the fastest row when none is), marked as missing
 * the target. A `fixedNprobe` (configured) is judged as it is.
 */
export function chooseNprobe(rows: SweepRow[], target: { recallAt10: number; latencyBudgetMs: number; fixedNprobe?: number }): NprobeChoice {
  if (rows.length === 0) throw new RangeError('an empty sweep has no nprobe to choose');
  const judge = (r: SweepRow): NprobeChoice => ({
    nprobe: r.nprobe,
    reachesTarget: r.recallAt10 >= target.recallAt10,
    withinBudget: r.msPerQuery <= target.latencyBudgetMs,
  });
  if (target.fixedNprobe !== undefined) {
    const row = rows.find((r) => r.nprobe === target.fixedNprobe);
    if (!row) throw new RangeError(`the sweep did not measure the configured nprobe ${target.fixedNprobe}`);
    return judge(row);
  }
  const sorted = [...rows].sort((a, b) => a.nprobe - b.nprobe);
  const ok = sorted.find((r) => r.recallAt10 >= target.recallAt10 && r.msPerQuery <= target.latencyBudgetMs);
  if (ok) return judge(ok);
  const inBudget = sorted.filter((r) => r.msPerQuery <= target.latencyBudgetMs);
  const best = inBudget.reduce<SweepRow | undefined>((b, r) => (!b || r.recallAt10 > b.recallAt10 ? r : b), undefined);
  return judge(best ?? sorted.reduce((b, r) => (r.msPerQuery < b.msPerQuery ? r : b)));
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
