import { topKOverlap } from './overlap.js';
// Data and helpers shared by this package's tests (not exported from the package).
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

/** Deterministic PRNG (mulberry32). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * n × dim vectors around `clusters` random centres: real embeddings are clustered, and on
 * such data IVF-PQ recall is high enough for a test to tell a working index from a broken one.
 */
export function clusteredVectors(n: number, dim: number, seed: number, clusters = 50, spread = 0.3): Float32Array {
  const rand = prng(seed);
  const gauss = () => Math.sqrt(-2 * Math.log(Math.max(rand(), 1e-12))) * Math.cos(2 * Math.PI * rand());
  const centres = Float32Array.from({ length: clusters * dim }, gauss);
  const out = new Float32Array(n * dim);
  for (let i = 0; i < n; i++) {
    const c = Math.floor(rand() * clusters);
    for (let j = 0; j < dim; j++) out[i * dim + j] = centres[c * dim + j]! + spread * gauss();
  }
  return out;
}

/** Ids that are neither dense nor small, so a lost or renumbered id cannot pass unnoticed. */
export function sparseIds(n: number, offset = 1n << 40n): BigInt64Array {
  return BigInt64Array.from({ length: n }, (_, i) => offset + BigInt(i) * 7919n);
}

/** Overlap of the exact and found top-k (see topKOverlap). */
export const recallAtK = (truth: BigInt64Array, found: BigInt64Array, queries: number, k: number): number => topKOverlap(truth, found, queries, k);

export async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'reindex-faiss-'));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
