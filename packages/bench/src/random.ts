import { createPrng } from '@reindex/core';

/** n × dim standard-normal vectors (Box–Muller), row-major. */
export function gaussianVectors(n: number, dim: number, seed: number): Float32Array {
  const rand = createPrng(seed);
  const out = new Float32Array(n * dim);
  for (let i = 0; i < out.length; i += 2) {
    const u = Math.max(rand(), 1e-12);
    const v = rand();
    const r = Math.sqrt(-2 * Math.log(u));
    out[i] = r * Math.cos(2 * Math.PI * v);
    if (i + 1 < out.length) out[i + 1] = r * Math.sin(2 * Math.PI * v);
  }
  return out;
}

/** Mean fraction of the exact top-k found in the approximate top-k, per query. */
export function recallAtK(exact: ArrayLike<bigint | number>, approx: ArrayLike<bigint | number>, queries: number, k: number, exactK = k): number {
  let hits = 0;
  for (let q = 0; q < queries; q++) {
    const truth = new Set<string>();
    for (let j = 0; j < k; j++) truth.add(String(exact[q * exactK + j]));
    for (let j = 0; j < k; j++) if (truth.has(String(approx[q * k + j]))) hits++;
  }
  return hits / (queries * k);
}
