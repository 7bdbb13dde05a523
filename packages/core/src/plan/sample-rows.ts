import type { Catalogue } from '../catalogue/catalogue.js';
import type { CatalogueRow } from '../catalogue/catalogue-types.js';
import type { RowRangePart, ShardSpec } from '../catalogue/shard-spec.js';
import { PlanError } from '../errors.js';
import { createPrng, deriveSeed, randomInt } from '../util/prng.js';
import type { ShardPlan } from './shard-plan.js';

export interface SampleOptions {
  /** Parquet only: columns to decode. Default: all. */
  columns?: string[];
  /** Shards sampled in parallel. Default 4. */
  concurrency?: number;
}

/** Defaults of {@link SampleOptions}. */
export const DEFAULT_SAMPLE_OPTIONS = {
  concurrency: 4,
} as const;

/**
 * A uniform random sample of about `sampleSize` rows drawn across ALL shards of a plan,
 * deterministic for a given seed (training on the first rows would bias the quantizer to
 * whatever the catalogue export sorts first).
 *
 * Each shard gets a quota proportional to its rows (largest-remainder rounding). Shards made only
 * of Parquet (or synthetic) rows have exact counts: their quota is drawn as random row indices and only the row
 * groups holding those rows are read. Other shards are streamed once with reservoir sampling.
 * JSONL row counts are estimates, so quotas there are proportional to estimated rows, and a
 * shard with fewer rows than its quota contributes all of its rows.
 */
export async function sampleRows(
  catalogue: Catalogue,
  plan: ShardPlan,
  sampleSize: number,
  seed: number,
  options: SampleOptions = {},
): Promise<CatalogueRow[]> {
  const out: CatalogueRow[] = [];
  for await (const rows of streamSample(catalogue, plan, sampleSize, seed, options).shards) out.push(...rows);
  return out;
}

/** A sample read shard by shard: see {@link streamSample}. */
export interface SampleStream {
  /** Rows the sample holds at most (the sum of the shards' quotas): size buffers by it. */
  maxRows: number;
  /** Each shard's sampled rows, in shard order; the same rows {@link sampleRows} returns. */
  shards: AsyncGenerator<CatalogueRow[]>;
}

/**
 * The sample of {@link sampleRows}, handed over one shard at a time, so a consumer that
 * embeds each shard's rows and lets them go never holds more than `concurrency` shards' rows
 * (a 4M-row training sample as JS objects would take gigabytes). Shards are read ahead,
 * `concurrency` at a time, and yielded in shard order.
 */
export function streamSample(catalogue: Catalogue, plan: ShardPlan, sampleSize: number, seed: number, options: SampleOptions = {}): SampleStream {
  const { concurrency, columns } = { ...DEFAULT_SAMPLE_OPTIONS, ...options };
  if (!Number.isSafeInteger(sampleSize) || sampleSize < 1) {
    throw new PlanError('SAMPLE_SIZE_INVALID', `sample size must be a positive integer, got ${String(sampleSize)}`);
  }
  if (!Number.isSafeInteger(seed)) throw new PlanError('SAMPLE_SEED_INVALID', `sample seed must be an integer, got ${String(seed)}`);
  const quotas = allocate(
    sampleSize,
    plan.shards.map((s) => s.estimatedRows),
  );
  const sampleShard = async (i: number): Promise<CatalogueRow[]> => {
    const shard = plan.shards[i]!;
    const quota = quotas[i]!;
    if (quota === 0) return [];
    const random = createPrng(deriveSeed(seed, shard.index));
    return shard.parts.every((p) => p.kind === 'parquet-rows' || p.kind === 'synthetic-rows')
      ? sampleRowRangeShard(catalogue, shard, quota, random, columns)
      : reservoirSample(catalogue, shard, quota, random, columns);
  };
  async function* shards(): AsyncGenerator<CatalogueRow[]> {
    const ahead: Array<Promise<CatalogueRow[]>> = [];
    let next = 0;
    const readAhead = () => {
      const reading = sampleShard(next++);
      // Awaited in order below; until then a failure must not count as unhandled.
      reading.catch(() => undefined);
      ahead.push(reading);
    };
    while (next < plan.shards.length && ahead.length < concurrency) readAhead();
    while (ahead.length > 0) {
      const rows = await ahead.shift()!;
      if (next < plan.shards.length) readAhead();
      yield rows;
    }
  }
  return { maxRows: quotas.reduce((a, b) => a + b, 0), shards: shards() };
}

/** Splits `total` over `weights` proportionally, integer parts summing to min(total, sum of weights). */
export function allocate(total: number, weights: number[]): number[] {
  const sum = weights.reduce((a, b) => a + b, 0);
  if (sum <= 0) return weights.map(() => 0);
  const target = Math.min(total, Math.round(sum));
  const exact = weights.map((w) => (w / sum) * target);
  const quotas = exact.map((x) => Math.floor(x));
  let left = target - quotas.reduce((a, b) => a + b, 0);
  const order = exact.map((x, i) => [x - Math.floor(x), i] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  for (const [, i] of order) {
    if (left <= 0) break;
    quotas[i]!++;
    left--;
  }
  return quotas;
}

async function sampleRowRangeShard(
  catalogue: Catalogue,
  shard: ShardSpec,
  quota: number,
  random: () => number,
  columns: string[] | undefined,
): Promise<CatalogueRow[]> {
  const parts = shard.parts as RowRangePart[];
  const total = parts.reduce((s, p) => s + (p.rowEnd - p.rowStart), 0);
  const picked = pickDistinct(Math.min(quota, total), total, random);
  const out: CatalogueRow[] = [];
  let offset = 0;
  let i = 0;
  for (const part of parts) {
    const length = part.rowEnd - part.rowStart;
    const rows: number[] = [];
    while (i < picked.length && picked[i]! < offset + length) rows.push(part.rowStart + picked[i++]! - offset);
    offset += length;
    if (rows.length === 0) continue;
    out.push(...(await catalogue.readRowsAt(part, rows, columns)));
  }
  return out;
}

async function reservoirSample(
  catalogue: Catalogue,
  shard: ShardSpec,
  quota: number,
  random: () => number,
  columns: string[] | undefined,
): Promise<CatalogueRow[]> {
  const reservoir: Array<{ seen: number; row: CatalogueRow }> = [];
  let seen = 0;
  for await (const batch of catalogue.readShard(shard, columns === undefined ? {} : { columns })) {
    for (const row of batch.rows) {
      if (reservoir.length < quota) {
        reservoir.push({ seen, row });
      } else {
        const j = randomInt(random, seen + 1);
        if (j < quota) reservoir[j] = { seen, row };
      }
      seen++;
    }
  }
  // Input order, so a sample reads like the catalogue it came from.
  return reservoir.sort((a, b) => a.seen - b.seen).map((r) => r.row);
}

/** `k` distinct integers in [0, n), sorted (Floyd's algorithm: k draws, no n-sized array). */
function pickDistinct(k: number, n: number, random: () => number): number[] {
  const chosen = new Set<number>();
  for (let j = n - k; j < n; j++) {
    const t = randomInt(random, j + 1);
    chosen.add(chosen.has(t) ? j : t);
  }
  return [...chosen].sort((a, b) => a - b);
}
