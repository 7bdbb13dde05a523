import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_CONFIG } from '@reindex/core';
import { decodeFingerprints, encodeFingerprints, fingerprintSpec, itemFingerprint } from './fingerprints.js';

const fields = DEFAULT_CONFIG.catalogue.fields;
const row = { id: 7, title: 'red cotton shirt', category: 'shirts', brand: 'acme', shop: 'north', price: 19.9 };

test('a fingerprint follows exactly the columns that decide the vector, and the bundle', () => {
  const spec = fingerprintSpec(fields, 'bundle-a', false);
  const base = itemFingerprint(row, spec);
  assert.equal(itemFingerprint({ ...row }, spec), base, 'deterministic');
  assert.equal(itemFingerprint({ ...row, id: 8 }, spec), base, 'the id is not content');
  assert.equal(itemFingerprint({ ...row, unmapped: 'x' }, spec), base, 'unmapped columns are not content');
  for (const [column, value] of Object.entries({ title: 'blue cotton shirt', category: 'tops', brand: 'other', shop: 'south', price: 20 })) {
    assert.notEqual(itemFingerprint({ ...row, [column]: value }, spec), base, `${column} changes it`);
  }
  assert.notEqual(itemFingerprint({ ...row, price: 19n }, spec), itemFingerprint({ ...row, price: 19 }, spec), 'a bigint is not the number');
  assert.notEqual(itemFingerprint({ ...row, brand: null }, spec), itemFingerprint({ ...row, brand: '' }, spec), 'null is not empty');
  assert.notEqual(itemFingerprint(row, fingerprintSpec(fields, 'bundle-b', false)), base, 'another bundle changes every fingerprint');
  // Given vectors: the vector column only, and whether it is normalised.
  const vectors = fingerprintSpec({ ...fields, embedding: 'vec' }, null, true);
  const withVector = { ...row, vec: [0.5, 0.25] };
  assert.equal(itemFingerprint({ ...withVector, title: 'other' }, vectors), itemFingerprint(withVector, vectors));
  assert.equal(itemFingerprint({ ...withVector, vec: Float32Array.from([0.5, 0.25]) }, vectors), itemFingerprint(withVector, vectors));
  assert.notEqual(itemFingerprint({ ...withVector, vec: [0.5, 0.26] }, vectors), itemFingerprint(withVector, vectors));
  assert.notEqual(itemFingerprint(withVector, fingerprintSpec({ ...fields, embedding: 'vec' }, null, false)), itemFingerprint(withVector, vectors));
});

test('the fingerprints file round-trips and refuses what it is not', () => {
  const ids = BigInt64Array.from([-5n, 3n, 1n << 62n]);
  const prints = BigUint64Array.from([1n, (1n << 64n) - 1n, 42n]);
  const body = encodeFingerprints(ids, prints);
  assert.equal(body.length, 48);
  assert.deepEqual(decodeFingerprints(body, 'f'), { ids, fingerprints: prints });
  assert.throws(() => encodeFingerprints(BigInt64Array.from([2n, 1n]), BigUint64Array.from([0n, 0n])), RangeError);
  assert.throws(
    () => decodeFingerprints(body.subarray(0, 40), 'cut.bin'),
    (e: Error & { code?: string }) => e.code === 'BUILD_INTEGRITY' && /cut\.bin has 40 bytes/.test(e.message),
  );
  const unsorted = Buffer.concat([body.subarray(16, 32), body.subarray(0, 16)]);
  assert.throws(() => decodeFingerprints(unsorted, 'u.bin'), /u\.bin is not sorted by id at record 1/);
});
