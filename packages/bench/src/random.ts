import { topKOverlap } from '@reindex/faiss';
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

/**
 * n × dim vectors from a Gaussian mixture of `modes` components (as many as a catalogue has
 * categories): real embeddings are clustered, and on uniform noise every partition is as good
 * as any other, so training methods cannot be told apart.
 */
export function mixtureVectors(n: number, dim: number, modes: number, spread: number, seed: number): Float32Array {
  const rand = createPrng(seed);
  const centres = gaussianVectors(modes, dim, seed + 1);
  const noise = gaussianVectors(n, dim, seed + 2);
  const out = new Float32Array(n * dim);
  for (let i = 0; i < n; i++) {
    const c = Math.floor(rand() * modes);
    for (let j = 0; j < dim; j++) out[i * dim + j] = centres[c * dim + j]! + spread * noise[i * dim + j]!;
  }
  return out;
}

/** Overlap of the exact and approximate top-k (faiss's topKOverlap). */
export const recallAtK = topKOverlap;
