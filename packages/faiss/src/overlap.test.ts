import assert from 'node:assert/strict';
import { test } from 'node:test';
import { nearestInTopK, topKOverlap } from './overlap.js';

test('top-k overlap and 1-recall@k count what they say, with wider exact rows', () => {
  // Two queries, exact rows of 3 (nearest first), approximate top 2.
  const exact = BigInt64Array.from([1n, 2n, 3n, 7n, 8n, 9n]);
  const approx = BigInt64Array.from([2n, 1n, 9n, 4n]);
  // Query 0 finds its nearest (1) in second place; query 1 misses its nearest (7).
  assert.equal(nearestInTopK(exact, approx, 2, 2, 3), 0.5);
  // Overlap of the top 2: query 0 has {1, 2} of {1, 2}; query 1 has {} of {7, 8} (9 is third).
  assert.equal(topKOverlap(exact, approx, 2, 2, 3), 0.5);
  assert.equal(nearestInTopK(exact, approx, 2, 1, 3), 0);
  assert.equal(nearestInTopK([5, 6], [5, 6], 2, 1), 1);
});
