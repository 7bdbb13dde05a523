/**
 * Mean fraction of each query's exact top-k found in its approximate top-k (faiss's "k-recall@k",
 * the overlap measure): the one implementation the faiss tests and benchmarks share. `exactK` is
 * the row width of `exact` when it holds more than k neighbours per query.
 */
export function topKOverlap(exact: ArrayLike<bigint | number>, approx: ArrayLike<bigint | number>, queries: number, k: number, exactK = k): number {
  let hits = 0;
  for (let q = 0; q < queries; q++) {
    const truth = new Set<string>();
    for (let j = 0; j < k; j++) truth.add(String(exact[q * exactK + j]));
    for (let j = 0; j < k; j++) if (truth.has(String(approx[q * k + j]))) hits++;
  }
  return hits / (queries * k);
}

/**
 * Fraction of queries whose exact nearest neighbour (the first of its `exact` row) is among its
 * approximate top k (faiss's "1-recall@k"), without ties: the benchmarks' recall. The quality
 * stage's own recall (pipeline `recallOf`) also counts items tied with the nearest.
 */
export function nearestInTopK(exact: ArrayLike<bigint | number>, approx: ArrayLike<bigint | number>, queries: number, k: number, exactK = 1): number {
  let hits = 0;
  for (let q = 0; q < queries; q++) {
    const nearest = String(exact[q * exactK]);
    for (let j = 0; j < k; j++) {
      if (String(approx[q * k + j]) === nearest) {
        hits++;
        break;
      }
    }
  }
  return hits / queries;
}
