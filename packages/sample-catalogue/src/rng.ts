import { MULBERRY32_INCREMENT, mulberry32Output } from '@reindex/core';

/**
 * Per-item deterministic randomness: item i's values come from a generator seeded by
 * (seed, i), so any item can be generated alone, in any order, on any machine (streaming and
 * parallel generation give the same catalogue). Integer arithmetic only: bit-identical everywhere.
 */
export class ItemRng {
  private s: number;

  constructor(seed: number, index: number) {
    // Mix (seed, index) so neighbouring items get unrelated streams; index may exceed 2^32.
    let h = Math.imul((seed ^ 0x9e3779b9) >>> 0, 0x85ebca6b) ^ (index >>> 0) ^ Math.imul(Math.floor(index / 4294967296), 0xc2b2ae35);
    h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
    h = Math.imul(h ^ (h >>> 15), 0x846ca68b);
    this.s = (h ^ (h >>> 16)) >>> 0;
  }

  /** mulberry32 step: unsigned 32-bit integer. */
  next(): number {
    this.s = (this.s + MULBERRY32_INCREMENT) >>> 0;
    return mulberry32Output(this.s);
  }

  /** Uniform in [0, 1). */
  float(): number {
    return this.next() / 4294967296;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.float() * n);
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)] as T;
  }

  /** Index drawn from a cumulative distribution (ascending, last = 1). */
  fromCdf(cdf: Float64Array): number {
    const u = this.float();
    let lo = 0;
    let hi = cdf.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((cdf[mid] as number) <= u) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

/** Cumulative Zipf(s) distribution over n ranks: a few very common values, a long tail (as in real catalogues). */
export function zipfCdf(n: number, s = 1.07): Float64Array {
  const cdf = new Float64Array(n);
  let total = 0;
  for (let r = 0; r < n; r++) total += 1 / (r + 1) ** s;
  let acc = 0;
  for (let r = 0; r < n; r++) {
    acc += 1 / (r + 1) ** s / total;
    cdf[r] = acc;
  }
  cdf[n - 1] = 1;
  return cdf;
}
