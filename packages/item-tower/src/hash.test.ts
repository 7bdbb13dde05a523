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

test('bucketOf equals the plain remainder for every kind of 32-bit hash', () => {
  const edges = [0, 1, 2, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff];
  for (const buckets of [2, 3, 16, 1000, 16384, 65536, 1_000_003, 0x7fffffff]) {
    const hashes = [...edges];
    for (let i = 0; i < 20_000; i++) hashes.push(hashString(`h${i}`, buckets));
    for (const h of hashes) {
      const expected = Number(BigInt(h) % BigInt(buckets - 1)) + 1;
      if (bucketOf(h, buckets) !== expected) assert.fail(`bucketOf(${h}, ${buckets}) = ${bucketOf(h, buckets)}, expected ${expected}`);
    }
  }
});
