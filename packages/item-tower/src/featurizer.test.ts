import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Featurizer, bucketize } from './featurizer.js';
import { describeValue } from './coerce.js';
import type { Rejection } from './featurizer.js';
import { FeatureBatch } from './feature-batch.js';
import { referenceFeatureSpecs } from './reference-model.js';
import { DEFAULT_FIELD_MAPPING } from './featurizer.js';

const specs = referenceFeatureSpecs();
const full = { id: 7, title: 'Blue cotton shirt', category: 'Clothing > Men > Shirts', brand: 'Nike', shop: 'shop-0042', price: 12.5 };

function tensor(batch: FeatureBatch, name: string, row: number): number[] {
  const t = batch.tensors.find((x) => x.name === name)!;
  return [...t.data.subarray(row * t.width, (row + 1) * t.width)].map(Number);
}

function one(record: unknown, f = new Featurizer(specs)): FeatureBatch {
  const r = f.featurizeOne(record);
  if (!(r instanceof FeatureBatch)) assert.fail(`rejected: ${r.message}`);
  return r;
}

test('defaults: every logical field reads the source field of the same name', () => {
  assert.deepEqual(DEFAULT_FIELD_MAPPING, { id: 'id', title: 'title', category: 'category', brand: 'brand', shop: 'shop', price: 'price' });
});

test('a full record fills ids, mask, category prefixes, brand, shop and price bucket', () => {
  const b = one(full);
  assert.equal(b.count, 1);
  assert.equal(b.itemIds[0], 7n);
  const ids = tensor(b, 'title_ids', 0);
  const mask = tensor(b, 'title_mask', 0);
  const used = mask.filter((m) => m === 1).length;
  assert.equal(used, 18, '3 words + 15 trigrams');
  assert.ok(ids.slice(0, used).every((v) => v > 0) && ids.slice(used).every((v) => v === 0));
  assert.ok(tensor(b, 'category_ids', 0).every((v) => v > 0));
  assert.ok(tensor(b, 'brand_ids', 0)[0]! > 0 && tensor(b, 'shop_ids', 0)[0]! > 0);
  // Boundaries 1,2,5,10,20,...: 12.5 ≥ 10 and < 20 → four boundaries below → bucket 5.
  assert.deepEqual(tensor(b, 'price_bucket', 0), [5]);
});

test('missing and empty fields are valid and become id 0 / empty mask', () => {
  const b = one({ id: 1, title: '', brand: null, price: '  ' });
  assert.ok(tensor(b, 'title_mask', 0).every((v) => v === 0));
  assert.ok(tensor(b, 'title_ids', 0).every((v) => v === 0));
  for (const name of ['category_ids', 'brand_ids', 'shop_ids', 'price_bucket']) {
    assert.ok(
      tensor(b, name, 0).every((v) => v === 0),
      name,
    );
  }
});

test('unambiguous wrong types are coerced', () => {
  const f = new Featurizer(specs);
  assert.deepEqual(tensor(one({ ...full, price: '12.50' }, f), 'price_bucket', 0), [5]);
  assert.deepEqual(tensor(one({ ...full, title: 123456 }, f), 'title_ids', 0), tensor(one({ ...full, title: '123456' }, f), 'title_ids', 0));
  assert.deepEqual(tensor(one({ ...full, category: ['Clothing', 'Men', 'Shirts'] }, f), 'category_ids', 0), tensor(one(full, f), 'category_ids', 0));
  assert.equal(one({ ...full, id: '9007199254740993' }, f).itemIds[0], 9007199254740993n, 'string ids beyond 2^53 keep every digit');
  assert.equal(one({ ...full, id: 2 ** 40 + 3 }, f).itemIds[0], BigInt(2 ** 40 + 3), 'number ids above 2^32');
});

test('ambiguous values reject the item with a counted reason, never a throw', () => {
  const f = new Featurizer(specs);
  const records: unknown[] = [
    full,
    { ...full, id: 2, category: { x: 1 } },
    { ...full, id: 3, price: 'n/a' },
    { ...full, id: 4, title: true },
    { ...full, id: -5 },
    { ...full, id: undefined },
    'not a record',
    null,
    { ...full, id: '99999999999999999999' },
    { ...full, id: 10 },
  ];
  const batch = f.createBatch(16);
  const rejections: Rejection[] = [];
  assert.equal(f.featurizeInto(records, 0, batch, rejections), records.length);
  assert.equal(batch.count, 2);
  assert.deepEqual([...batch.ids()], [7n, 10n]);
  assert.deepEqual(
    rejections.map((r) => [r.index, r.reason, r.field]),
    [
      [1, 'wrong-type', 'category'],
      [2, 'wrong-type', 'price'],
      [3, 'wrong-type', 'title'],
      [4, 'invalid-id', 'id'],
      [5, 'missing-id', 'id'],
      [6, 'not-an-object', null],
      [7, 'not-an-object', null],
      [8, 'invalid-id', 'id'],
    ],
  );
  assert.match(rejections[0]!.message, /field "category" is \{"x":1\}/);
  assert.equal(rejections[0]!.itemId, '2');
});

test('field mapping reads renamed source fields', () => {
  const f = new Featurizer(specs, { id: 'sku', title: 'name' });
  const b = one({ sku: 42, name: 'Blue cotton shirt' }, f);
  assert.equal(b.itemIds[0], 42n);
  assert.deepEqual(tensor(b, 'title_ids', 0), tensor(one(full), 'title_ids', 0));
});

test('a reused batch fully overwrites earlier rows (no stale tokens or mask)', () => {
  const f = new Featurizer(specs);
  const batch = f.createBatch(2);
  const rejections: Rejection[] = [];
  f.featurizeInto([{ id: 1, title: 'a very long title with many many words in it' }, full], 0, batch, rejections);
  f.featurizeInto([{ id: 2, title: 'x' }], 0, batch, rejections);
  assert.equal(batch.count, 1);
  assert.equal(tensor(batch, 'title_mask', 0).filter((m) => m === 1).length, 1);
  assert.equal(tensor(batch, 'title_ids', 0).filter((v) => v !== 0).length, 1);
});

test('featurizeInto stops when the batch is full and reports how many records it consumed', () => {
  const f = new Featurizer(specs);
  const batch = f.createBatch(2);
  const rejections: Rejection[] = [];
  const records = [{ id: 1 }, { id: 'bad' }, { id: 2 }, { id: 3 }];
  assert.equal(f.featurizeInto(records, 0, batch, rejections), 3);
  assert.deepEqual([...batch.ids()], [1n, 2n]);
  assert.equal(f.featurizeInto(records, 3, batch, rejections), 1);
  assert.deepEqual([...batch.ids()], [3n]);
  assert.equal(rejections.length, 1);
});

test('bucketize: 0 is missing, then 1 + number of boundaries ≤ value', () => {
  const b = [1, 2, 5];
  assert.deepEqual(
    [-3, 0.5, 1, 1.5, 2, 4.99, 5, 1e9].map((v) => bucketize(b, v)),
    [1, 1, 2, 2, 3, 3, 4, 4],
  );
});

test('featurization is deterministic across featurizer instances', () => {
  const a = one(full, new Featurizer(specs));
  const b = one(full, new Featurizer(specs));
  for (const t of a.tensors) assert.deepEqual(tensor(a, t.name, 0), tensor(b, t.name, 0), t.name);
});

test('a 10,000-level nested category is a counted rejection with a short preview, not a stack overflow', async () => {
  let nested: unknown = 'leaf';
  for (let i = 0; i < 10_000; i++) nested = [nested];
  const deepObject = JSON.parse(`${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}`) as unknown;
  assert.equal(describeValue(nested), '[[[[[...]]]]]');
  assert.ok(describeValue(deepObject).startsWith('{"a":{"a":'));
  assert.ok(describeValue(new Array(1_000_000).fill(7)).length <= 60);
  assert.equal(describeValue({ id: 12n, n: [1, 'x'] }), '{"id":12,"n":[1,"x"]}');
  const featurizer = new Featurizer(specs);
  const rejections = [nested, deepObject].map((category) => featurizer.featurizeOne({ ...full, category }));
  for (const r of rejections) {
    assert.ok(!(r instanceof FeatureBatch), 'rejected');
    assert.equal(r.field, 'category');
    assert.ok(r.message.length < 300, r.message);
  }
});
