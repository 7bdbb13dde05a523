import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { REFERENCE_MODEL_DEFAULTS, buildReferenceBundle } from './reference-model.js';
import { loadBundle } from './bundle.js';
import { ItemTowerError } from './errors.js';
import { referenceBundleDir } from './fixtures.js';

test('defaults are the documented ones', () => {
  assert.equal(REFERENCE_MODEL_DEFAULTS.dim, 128);
  assert.equal(REFERENCE_MODEL_DEFAULTS.heads, 4);
  assert.equal(REFERENCE_MODEL_DEFAULTS.seed, 42);
  assert.deepEqual(REFERENCE_MODEL_DEFAULTS.fusion, { kind: 'mean' });
  assert.equal(REFERENCE_MODEL_DEFAULTS.opset, 17);
});

test('the builder is deterministic: same options, byte-identical bundle; another seed differs', async () => {
  const a = await referenceBundleDir();
  const b = await referenceBundleDir();
  const c = await referenceBundleDir({ seed: 43 });
  try {
    for (const file of ['bundle.json', 'model.onnx', 'query.onnx']) {
      assert.ok((await readFile(path.join(a.dir, file))).equals(await readFile(path.join(b.dir, file))), file);
    }
    assert.equal((await loadBundle(a.dir)).contentHash, (await loadBundle(b.dir)).contentHash);
    assert.notEqual((await loadBundle(a.dir)).contentHash, (await loadBundle(c.dir)).contentHash);
  } finally {
    await Promise.all([a.cleanup(), b.cleanup(), c.cleanup()]);
  }
});

test('the bundle declares what the builder was asked for', async () => {
  const t = await referenceBundleDir({ dim: 64, heads: 2, titleEmbeddingDim: 64, fusion: { kind: 'weighted', weights: [0.7, 0.3] } });
  try {
    const m = (await loadBundle(t.dir)).manifest;
    assert.equal(m.dim, 64);
    assert.equal(m.query?.heads, 2);
    assert.deepEqual(m.query?.fusion, { kind: 'weighted', weights: [0.7, 0.3] });
    assert.deepEqual(
      m.item.features.map((f) => f.input),
      ['title_ids', 'category_ids', 'brand_ids', 'shop_ids', 'price_bucket'],
    );
  } finally {
    await t.cleanup();
  }
});

test('impossible options fail naming the option', async () => {
  await assert.rejects(
    buildReferenceBundle('/tmp/never-written', { hiddenDim: 100 }),
    (e: unknown) => e instanceof ItemTowerError && e.code === 'INVALID_OPTION' && /hiddenDim \(100\)/.test(e.message),
  );
  await assert.rejects(
    buildReferenceBundle('/tmp/never-written', { heads: 0 }),
    (e: unknown) => e instanceof ItemTowerError && /heads must be a positive integer/.test(e.message),
  );
});
