import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ItemTowerError } from './errors.js';
import { PrecomputedEmbedder } from './precomputed-embedder.js';

describe('PrecomputedEmbedder', () => {
  const options = { dim: 3, idField: 'id', embeddingField: 'v', normalize: false };

  it('copies lists and typed arrays as given, with their ids, in input order', async () => {
    const e = new PrecomputedEmbedder(options);
    const out = await e.embed([
      { id: 7, v: [1, 2, 3] },
      { id: '8', v: Float32Array.from([0.5, 0, -1]) },
      { id: 9n, v: Float64Array.from([3, 0, 4]) },
    ]);
    assert.deepEqual(Array.from(out.ids), [7n, 8n, 9n]);
    assert.deepEqual(Array.from(out.vectors), [1, 2, 3, 0.5, 0, -1, 3, 0, 4]);
    assert.equal(out.dim, 3);
    assert.deepEqual(out.rejections, []);
    assert.equal(e.stats.itemsEmbedded, 3);
  });

  it('normalises when asked', async () => {
    const out = await new PrecomputedEmbedder({ ...options, normalize: true }).embed([{ id: 1, v: [3, 0, 4] }]);
    assert.deepEqual(Array.from(out.vectors), [0.6000000238418579, 0, 0.800000011920929]);
  });

  it('rejects every unusable row with its position, id, reason and field, and keeps the rest', async () => {
    const e = new PrecomputedEmbedder({ ...options, normalize: true });
    const out = await e.embed([
      'not a row',
      { v: [1, 1, 1] },
      { id: -1, v: [1, 1, 1] },
      { id: 3 },
      { id: 4, v: [1, 2] },
      { id: 5, v: [1, Number.NaN, 1] },
      { id: 6, v: [1, Infinity, 1] },
      { id: 7, v: ['1', 2, 3] },
      { id: 8, v: { 0: 1, 1: 2, 2: 3, length: 3 } },
      { id: 9, v: [0, 0, 0] },
      { id: 10, v: [1e39, 0, 0] },
      { id: 11, v: BigInt64Array.from([1n, 2n, 3n]) },
      { id: 12, v: [1, 1, 1] },
    ]);
    assert.deepEqual(Array.from(out.ids), [12n]);
    assert.deepEqual(
      out.rejections.map((r) => [r.index, r.itemId, r.reason, r.field]),
      [
        [0, null, 'not-an-object', null],
        [1, null, 'missing-id', 'id'],
        [2, '-1', 'invalid-id', 'id'],
        [3, '3', 'missing-embedding', 'v'],
        [4, '4', 'invalid-embedding', 'v'],
        [5, '5', 'invalid-embedding', 'v'],
        [6, '6', 'invalid-embedding', 'v'],
        [7, '7', 'invalid-embedding', 'v'],
        [8, '8', 'invalid-embedding', 'v'],
        [9, '9', 'invalid-embedding', 'v'],
        [10, '10', 'invalid-embedding', 'v'],
        [11, '11', 'invalid-embedding', 'v'],
      ],
    );
    const message = (i: number) => out.rejections.find((r) => r.index === i)!.message;
    assert.equal(message(4), 'field "v" has 2 values, the index has dim 3');
    assert.equal(message(5), 'field "v" has NaN at position 1, not a finite number');
    assert.equal(message(7), 'field "v" has "1" at position 0, not a finite number');
    assert.match(message(8), /^field "v" is \{.*\}, not a list of 3 numbers$/);
    assert.equal(message(9), 'field "v" is all zeros, which cannot be normalised');
    assert.equal(message(10), 'field "v" has 1e+39 at position 0, outside float32\'s range');
    assert.equal(e.stats.itemsRejected, 12);
  });

  it('refuses a dim that is not a positive integer', () => {
    assert.throws(
      () => new PrecomputedEmbedder({ ...options, dim: 0 }),
      (e: unknown) => e instanceof ItemTowerError && /dim must be a positive integer/.test(e.message),
    );
  });
});
