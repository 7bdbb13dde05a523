/**
 * Small deterministic PRNG (mulberry32) so samples depend only on the seed, not on Math.random or
 * the platform. Not cryptographic; plenty for picking training rows.
 */
export function createPrng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + MULBERRY32_INCREMENT) >>> 0;
    return mulberry32Output(state) / 4294967296;
  };
}

/** What mulberry32 adds to its state each step. */
export const MULBERRY32_INCREMENT = 0x6d2b79f5;

/**
 * mulberry32's output (an unsigned 32-bit integer) for a state already advanced by
 * MULBERRY32_INCREMENT: the one implementation of the mixing every reindex generator uses.
 */
export function mulberry32Output(state: number): number {
  let t = state;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return (t ^ (t >>> 14)) >>> 0;
}

/** Derives an independent 32-bit seed for a sub-stream (e.g. one shard) from a seed and an index. */
export function deriveSeed(seed: number, index: number): number {
  let h = (seed ^ 0x9e3779b9) >>> 0;
  h = Math.imul(h ^ (index + 0x7f4a7c15), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

/** Uniform integer in [0, n). */
export function randomInt(random: () => number, n: number): number {
  return Math.floor(random() * n);
}
