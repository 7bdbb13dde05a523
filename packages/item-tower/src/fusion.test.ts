import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { FusionRule } from './bundle-manifest.js';
import { collapseHeads, fuseScores, headScores, scoreItems, topK } from './fusion.js';

// Two heads in 2-d, three items.
const heads = new Float32Array([1, 0, 0.6, 0.8]);
const items = new Float32Array([1, 0, 0, 1, 0.6, 0.8]);

test('headScores: one inner product per head', () => {
  const out = headScores(heads, items, 2, new Float32Array(2), 2);
  assert.deepEqual(
    [...out].map((v) => +v.toFixed(6)),
    [0, 0.8],
  );
});

test('fuseScores: mean, max and weighted', () => {
  assert.equal(fuseScores([0.2, 0.8], { kind: 'mean' }), 0.5);
  assert.equal(fuseScores([0.2, 0.8], { kind: 'max' }), 0.8);
  assert.ok(Math.abs(fuseScores([0.2, 0.8], { kind: 'weighted', weights: [0.75, 0.25] }) - 0.35) < 1e-12);
});

test('scoreItems equals per-head scoring then fusion, for every rule', () => {
  const rules: FusionRule[] = [{ kind: 'mean' }, { kind: 'max' }, { kind: 'weighted', weights: [2, -1] }];
  for (const rule of rules) {
    const fused = scoreItems(heads, items, 2, rule);
    for (let i = 0; i < 3; i++) {
      const expected = fuseScores(headScores(heads, items, 2, new Float32Array(2), i * 2), rule);
      assert.ok(Math.abs(fused[i]! - expected) < 1e-6, `${rule.kind} item ${i}: ${fused[i]} vs ${expected}`);
    }
  }
  assert.deepEqual(
    [...collapseHeads(heads, 2, { kind: 'mean' })].map((v) => +v.toFixed(6)),
    [0.8, 0.4],
  );
});

test('topK returns the best indices first, ties by lower index', () => {
  const s = new Float32Array([0.1, 0.9, 0.5, 0.9, -1, 0.7]);
  assert.deepEqual(topK(s, 3), [1, 3, 5]);
  assert.deepEqual(topK(s, 10), [1, 3, 5, 2, 0, 4]);
  assert.deepEqual(topK(new Float32Array(0), 2), []);
});
