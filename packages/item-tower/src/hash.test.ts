import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bucketOf, hashString } from './hash.js';

// Determinism contract: these values are what every machine, every run and any reimplementation
// (README has the Python version) must produce. Changing them invalidates every trained bundle.
test('hashString matches the pinned FNV-1a + fmix32 values over UTF-8', () => {
  const golden: [string, number, number][] = [
    ['', 1234692987, 1647799542],
    ['a', 918635412, 3600977327],
    ['shirt', 795770756, 302355516],
    ['连衣裙', 654090308, 1881224100],
    ['👍', 1313733929, 2115175622],
  ];
  for (const [text, seed0, seed1] of golden) {
    assert.equal(hashString(text, 0), seed0, `seed 0, ${JSON.stringify(text)}`);
    assert.equal(hashString(text, 1), seed1, `seed 1, ${JSON.stringify(text)}`);
  }
});

test('bucketOf keeps ids in [1, buckets) so 0 stays the padding id', () => {
  const seen = new Set<number>();
  for (let i = 0; i < 5000; i++) {
    const id = bucketOf(hashString(`token-${i}`, 7), 16);
    assert.ok(id >= 1 && id < 16, `id ${id}`);
    seen.add(id);
  }
  assert.equal(seen.size, 15, 'every non-padding bucket is reachable');
  assert.equal(bucketOf(0xffffffff, 2), 1);
});
