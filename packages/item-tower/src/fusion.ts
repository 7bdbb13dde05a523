/**
 * Post-fusion scoring of a multi-head query tower (MMSE): each of the H query heads is scored
 * against the item by inner product, then the H scores are fused by the bundle's rule.
 */
import type { FusionRule } from './bundle-manifest.js';

/**
 * Per-head inner products of one query with one item: `heads` is `[H × dim]` (one query),
 * `item` is `dim` long (or a row of a larger array at `itemOffset`). Writes H scores into `out`.
 */
export function headScores(heads: Float32Array, item: Float32Array, dim: number, out: Float32Array, itemOffset = 0): Float32Array {
  const H = heads.length / dim;
  for (let h = 0; h < H; h++) {
    let s = 0;
    const base = h * dim;
    for (let k = 0; k < dim; k++) s += (heads[base + k] as number) * (item[itemOffset + k] as number);
    out[h] = s;
  }
  return out;
}

/** Fuses per-head scores into one. */
export function fuseScores(scores: ArrayLike<number>, rule: FusionRule): number {
  const H = scores.length;
  switch (rule.kind) {
    case 'mean': {
      let s = 0;
      for (let h = 0; h < H; h++) s += scores[h] as number;
      return s / H;
    }
    case 'max': {
      let m = -Infinity;
      for (let h = 0; h < H; h++) m = Math.max(m, scores[h] as number);
      return m;
    }
    case 'weighted': {
      let s = 0;
      for (let h = 0; h < H; h++) s += (scores[h] as number) * (rule.weights[h] ?? 0);
      return s;
    }
  }
}

/**
 * Fused scores of one query against `n` items (`items` is `n × dim`), brute force. For `mean`
 * and `weighted` this equals one inner product with the (weighted) mean of the heads — which is
 * why those rules can be served from a single ANN index — `max` needs every head.
 */
export function scoreItems(heads: Float32Array, items: Float32Array, dim: number, rule: FusionRule): Float32Array {
  const n = items.length / dim;
  const H = heads.length / dim;
  const out = new Float32Array(n);
  if (rule.kind === 'max') {
    const per = new Float32Array(H);
    for (let i = 0; i < n; i++) out[i] = fuseScores(headScores(heads, items, dim, per, i * dim), rule);
    return out;
  }
  const q = collapseHeads(heads, dim, rule);
  for (let i = 0; i < n; i++) {
    let s = 0;
    const base = i * dim;
    for (let k = 0; k < dim; k++) s += (q[k] as number) * (items[base + k] as number);
    out[i] = s;
  }
  return out;
}

/** The single vector whose inner product equals the fused score, for linear rules (mean, weighted). */
export function collapseHeads(heads: Float32Array, dim: number, rule: FusionRule & { kind: 'mean' | 'weighted' }): Float32Array {
  const H = heads.length / dim;
  const q = new Float32Array(dim);
  for (let h = 0; h < H; h++) {
    const w = rule.kind === 'mean' ? 1 / H : (rule.weights[h] ?? 0);
    for (let k = 0; k < dim; k++) q[k] = (q[k] as number) + w * (heads[h * dim + k] as number);
  }
  return q;
}

/** Indices of the `k` highest scores, best first (ties: lower index first). */
export function topK(scores: Float32Array, k: number): number[] {
  const idx: number[] = [];
  for (let i = 0; i < scores.length; i++) {
    const s = scores[i] as number;
    if (idx.length === k && s <= (scores[idx[k - 1]!] as number)) continue;
    let p = idx.length < k ? idx.length : k - 1;
    if (idx.length < k) idx.push(i);
    while (p > 0 && (scores[idx[p - 1]!] as number) < s) {
      idx[p] = idx[p - 1]!;
      p--;
    }
    idx[p] = i;
  }
  return idx;
}
