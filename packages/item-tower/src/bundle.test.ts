import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile, rm, appendFile } from 'node:fs/promises';
import path from 'node:path';
import { loadBundle } from './bundle.js';
import { ItemEmbedder } from './item-embedder.js';
import { QueryEncoder } from './query-encoder.js';
import { BundleError, type BundleMismatchError } from './errors.js';
import { OnnxGraphBuilder } from './onnx-graph.js';
import { referenceBundleDir, tempDir } from './fixtures.js';

async function editManifest(dir: string, edit: (m: any) => void): Promise<void> {
  const file = path.join(dir, 'bundle.json');
  const m = JSON.parse(await readFile(file, 'utf8'));
  edit(m);
  await writeFile(file, JSON.stringify(m));
}

async function rejectsWith(p: Promise<unknown>, code: string, pattern: RegExp): Promise<Error> {
  let caught: unknown;
  await p.then(
    () => assert.fail('expected a rejection'),
    (e: unknown) => {
      caught = e;
    },
  );
  assert.ok(caught instanceof BundleError, `not a BundleError: ${String(caught)}`);
  assert.equal(caught.code, code);
  assert.match(caught.message, pattern);
  return caught;
}

test('a directory without bundle.json fails with BUNDLE_NOT_FOUND naming it', async () => {
  const t = await tempDir('empty');
  try {
    await rejectsWith(loadBundle(t.dir), 'BUNDLE_NOT_FOUND', /bundle\.json/);
  } finally {
    await t.cleanup();
  }
});

test('invalid bundle.json lists every problem at once', async () => {
  const b = await referenceBundleDir();
  try {
    await editManifest(b.dir, (m) => {
      m.dim = 0;
      m.item.features[0].maxLength = -1;
      m.item.features[1].input = 'title_ids';
      m.query.fusion = { kind: 'weighted', weights: [1] };
    });
    const e = await rejectsWith(loadBundle(b.dir), 'BUNDLE_INVALID', /dim must be a positive integer/);
    assert.match(e.message, /item\.features\[0\]\.maxLength/);
    assert.match(e.message, /"title_ids" is used by two features/);
    assert.match(e.message, /query\.fusion\.weights must be 4 finite numbers/);
    await writeFile(path.join(b.dir, 'bundle.json'), '{ not json');
    await rejectsWith(loadBundle(b.dir), 'BUNDLE_INVALID', /not valid JSON/);
  } finally {
    await b.cleanup();
  }
});

test('a missing model file fails at load time', async () => {
  const b = await referenceBundleDir();
  try {
    await rm(path.join(b.dir, 'query.onnx'));
    await rejectsWith(loadBundle(b.dir), 'BUNDLE_NOT_FOUND', /query\.onnx/);
  } finally {
    await b.cleanup();
  }
});

test('content hash is stable, and changes with any byte of any file', async () => {
  const b = await referenceBundleDir();
  try {
    const first = (await loadBundle(b.dir)).contentHash;
    assert.match(first, /^sha256:[0-9a-f]{64}$/);
    assert.equal((await loadBundle(b.dir)).contentHash, first);
    await appendFile(path.join(b.dir, 'query.onnx'), Buffer.from([0]));
    assert.notEqual((await loadBundle(b.dir)).contentHash, first);
  } finally {
    await b.cleanup();
  }
});

test('ONNX inputs/outputs that disagree with bundle.json fail with every mismatch named', async () => {
  const b = await referenceBundleDir();
  try {
    await editManifest(b.dir, (m) => {
      m.dim = 64; // the model outputs 128
      m.item.features[0].maxLength = 32; // the model's title inputs are [batch, 48]
      m.item.features[2].input = 'brand_id'; // the model calls it brand_ids
      m.item.features[3].dtype = 'int32'; // the model's shop_ids is int64
    });
    const e = await rejectsWith(ItemEmbedder.create(b.dir), 'BUNDLE_MODEL_MISMATCH', /model\.onnx does not match bundle\.json/);
    const mismatches = (e as BundleMismatchError).mismatches.join('\n');
    assert.match(mismatches, /output "embedding" dimension 1 is 128, expected 64/);
    assert.match(mismatches, /input "title_ids" dimension 1 is 48, expected 32/);
    assert.match(mismatches, /input "title_mask" dimension 1 is 48, expected 32/);
    assert.match(mismatches, /input "brand_id" is missing/);
    assert.match(mismatches, /input "brand_ids" is not declared by any feature/);
    assert.match(mismatches, /input "shop_ids" has dtype int64, expected int32/);
    await rejectsWith(QueryEncoder.create(b.dir), 'BUNDLE_MODEL_MISMATCH', /query\.onnx .*output "head_embeddings" dimension 2 is 128, expected 64/);
  } finally {
    await b.cleanup();
  }
});

test('a model exported without a dynamic batch axis is refused', async () => {
  const b = await referenceBundleDir();
  try {
    await editManifest(b.dir, (m) => {
      m.item.model = 'fixed.onnx';
      m.item.features = [{ kind: 'numeric', field: 'price', input: 'price_bucket', dtype: 'int64', boundaries: [1] }];
      m.dim = 1;
      delete m.query;
    });
    const g = new OnnxGraphBuilder('fixed_batch');
    const x = g.input('price_bucket', 'int64', [8, 1]);
    g.node('Cast', [x], { to: 1 }, 'embedding');
    g.output('embedding', 'float32', [8, 1]);
    await writeFile(path.join(b.dir, 'fixed.onnx'), g.toBytes(17, { name: 'test', version: '1' }, ''));
    await rejectsWith(ItemEmbedder.create(b.dir), 'BUNDLE_MODEL_MISMATCH', /fixed batch dimension 8; export with a dynamic batch axis/);
  } finally {
    await b.cleanup();
  }
});
