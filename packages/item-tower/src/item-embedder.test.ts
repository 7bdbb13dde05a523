import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { CatalogueGenerator } from '@reindex/sample-catalogue';
import { ItemEmbedder, ITEM_EMBEDDER_DEFAULTS } from './item-embedder.js';
import { SESSION_DEFAULTS } from './session-options.js';
import { QueryEncoder } from './query-encoder.js';
import { loadBundle } from './bundle.js';
import { EmbeddingValidationError, ExecutionProviderError, ItemTowerError } from './errors.js';
import { OnnxGraphBuilder } from './onnx-graph.js';
import { dot, hasNvidiaDevice, referenceBundleDir, tempDir } from './fixtures.js';

const records = [...new CatalogueGenerator({ seed: 5 }).items(0, 3000)];

test('defaults are the documented ones', () => {
  assert.deepEqual(
    { ...ITEM_EMBEDDER_DEFAULTS, logger: undefined },
    {
      executionProvider: 'cpu',
      onProviderUnavailable: 'error',
      cudaDeviceId: 0,
      intraOpThreads: 0,
      interOpThreads: 1,
      threadSpinning: false,
      logger: undefined,
      batchSize: 256,
      maxBatchesInFlight: 2,
      fieldMapping: {},
    },
  );
  assert.equal(SESSION_DEFAULTS.logger, console);
});

test('embeddings are finite, unit-norm, in input order, and deterministic across sessions', async () => {
  const b = await referenceBundleDir();
  const e1 = await ItemEmbedder.create(b.dir, { batchSize: 100, intraOpThreads: 1 });
  const e2 = await ItemEmbedder.create(b.dir, { batchSize: 64, intraOpThreads: 2, maxBatchesInFlight: 3 });
  try {
    const r1 = await e1.embed(records);
    const r2 = await e2.embed(records);
    const rejectedIds = new Set(r1.rejections.map((r) => r.itemId));
    const expectedIds = records.map((r) => BigInt(r.id as number)).filter((id) => !rejectedIds.has(String(id)));
    assert.deepEqual([...r1.ids], expectedIds);
    assert.equal(r1.vectors.length, r1.ids.length * 128);
    for (let i = 0; i < r1.ids.length; i++) {
      const norm = Math.sqrt(dot(r1.vectors, i, r1.vectors, i, 128));
      assert.ok(Math.abs(norm - 1) < 1e-4, `item ${r1.ids[i]} has norm ${norm}`);
    }
    assert.ok(r1.vectors.every(Number.isFinite));
    assert.deepEqual([...r2.ids], [...r1.ids]);
    let maxDiff = 0;
    for (let k = 0; k < r1.vectors.length; k++) maxDiff = Math.max(maxDiff, Math.abs(r1.vectors[k]! - r2.vectors[k]!));
    // Batch size and thread count change float summation order only.
    assert.ok(maxDiff < 1e-5, `max difference ${maxDiff}`);
    assert.equal(e1.stats.itemsEmbedded, r1.ids.length);
    assert.equal(e1.stats.itemsRejected, r1.rejections.length);
  } finally {
    await e1.close();
    await e2.close();
    await b.cleanup();
  }
});

test('rejections are reported with their index in the input, across batches', async () => {
  const b = await referenceBundleDir();
  const e = await ItemEmbedder.create(b.dir, { batchSize: 4 });
  try {
    const input: unknown[] = Array.from({ length: 10 }, (_, i) => ({ id: i + 1, title: `item ${i}` }));
    input[2] = { id: 3, category: { x: 1 } };
    input[9] = { id: 'ten' };
    const r = await e.embed(input);
    assert.deepEqual(
      r.rejections.map((x) => [x.index, x.reason]),
      [
        [2, 'wrong-type'],
        [9, 'invalid-id'],
      ],
    );
    assert.deepEqual([...r.ids], [1n, 2n, 4n, 5n, 6n, 7n, 8n, 9n]);
    const bare = await e.embed([{ id: 77 }, { id: ' ' }]);
    assert.deepEqual([...bare.ids], [77n], 'an item with every feature missing is still embedded');
    assert.ok(Math.abs(dot(bare.vectors, 0, bare.vectors, 0, 128) - 1) < 1e-4);
    assert.equal(bare.rejections[0]?.reason, 'missing-id', 'a blank id is a missing id');
    const all = await e.embed([{ id: 'x' }]);
    assert.equal(all.ids.length, 0);
    assert.equal(all.rejections.length, 1);
  } finally {
    await e.close();
    await b.cleanup();
  }
});

test('embedStream yields one result per batch in order from an async source', async () => {
  const b = await referenceBundleDir();
  const e = await ItemEmbedder.create(b.dir, { batchSize: 128 });
  try {
    async function* source() {
      for (const r of records.slice(0, 1000)) yield r;
    }
    const sizes: number[] = [];
    const ids: bigint[] = [];
    for await (const part of e.embedStream(source())) {
      sizes.push(part.ids.length + part.rejections.length);
      ids.push(...part.ids);
    }
    assert.deepEqual(sizes, [128, 128, 128, 128, 128, 128, 128, 104]);
    assert.deepEqual(ids, [...(await e.embed(records.slice(0, 1000))).ids]);
  } finally {
    await e.close();
    await b.cleanup();
  }
});

test('the event loop keeps running while batches compute (inference is off the main thread)', async () => {
  const b = await referenceBundleDir();
  const e = await ItemEmbedder.create(b.dir, { batchSize: 3000, intraOpThreads: 1 });
  try {
    const many = [...records, ...records, ...records];
    // Warm up first: the first call compiles the featurizer and starts the session's thread,
    // one-time main-thread work that is not what this test is about.
    await e.embed(records.slice(0, 10));
    const warm = { ...e.stats };
    let last = performance.now();
    let maxGap = 0;
    const timer = setInterval(() => {
      const now = performance.now();
      maxGap = Math.max(maxGap, now - last);
      last = now;
    }, 1);
    await e.embed(many);
    clearInterval(timer);
    const batches = e.stats.batches - warm.batches;
    const perBatchMs = (e.stats.inferenceMs - warm.inferenceMs) / batches;
    // Featurizing is main-thread work by design, and embed() featurizes its whole input (one
    // chunk of three batches) in one synchronous step; inference is not main-thread work. Were
    // session.run on this thread, some gap would hold that featurization and whole inferences.
    const featurizeMs = e.stats.featurizeMs - warm.featurizeMs;
    assert.ok(
      maxGap < featurizeMs + perBatchMs * 0.6,
      `event loop stalled ${maxGap.toFixed(1)} ms; featurizing took ${featurizeMs.toFixed(1)} ms, a batch's inference ${perBatchMs.toFixed(1)} ms`,
    );
  } finally {
    await e.close();
    await b.cleanup();
  }
});

test('query head 0 equals the item tower on a title-only item; other heads stay close', async () => {
  const b = await referenceBundleDir();
  const e = await ItemEmbedder.create(b.dir);
  const q = await QueryEncoder.create(b.dir);
  try {
    const title = 'Kaka waterproof navy linen parka XL QX-4821';
    const items = await e.embed([
      { id: 1, title },
      { id: 2, title, category: 'Clothing > Men > Jackets', brand: 'Kaka', shop: 'shop-0001', price: 99 },
    ]);
    const heads = await q.encode([title]);
    assert.equal(heads.length, 4 * 128);
    assert.ok(dot(heads, 0, items.vectors, 0, 128) > 0.9999);
    for (let h = 1; h < 4; h++) {
      const s = dot(heads, h, items.vectors, 0, 128);
      assert.ok(s > 0.8 && s < 0.9999, `head ${h}: ${s}`);
    }
    assert.ok(dot(heads, 0, items.vectors, 1, 128) > 0.7, 'other fields move the item, but not far');
  } finally {
    await e.close();
    await q.close();
    await b.cleanup();
  }
});

/** A bundle whose item tower outputs 1/(price bucket) repeated `outDim` times: NaN-free except 0/0. */
async function customBundle(outDim: number, declaredDim: number): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const t = await tempDir('custom');
  const g = new OnnxGraphBuilder('nan_when_price_missing');
  const x = g.node('Cast', [g.input('price_bucket', 'int64', ['batch', 1])], { to: 1 });
  // x / x is 1, except 0 / 0 = NaN for items without a price.
  const ratio = g.node('Div', [x, x]);
  const ones = g.floatTensor('ones', [1, outDim], new Float32Array(outDim).fill(1));
  g.node('MatMul', [ratio, ones], {}, 'embedding');
  g.output('embedding', 'float32', ['batch', 'dim']);
  await writeFile(path.join(t.dir, 'model.onnx'), g.toBytes(17, { name: 'test', version: '1' }, ''));
  await writeFile(
    path.join(t.dir, 'bundle.json'),
    JSON.stringify({
      formatVersion: 1,
      name: 'test',
      version: '1',
      dim: declaredDim,
      metric: 'inner_product',
      normalized: false,
      item: {
        model: 'model.onnx',
        output: 'embedding',
        features: [{ kind: 'numeric', field: 'price', input: 'price_bucket', dtype: 'int64', boundaries: [10] }],
      },
    }),
  );
  return t;
}

test('a batch with NaN embeddings fails naming the offending item ids', async () => {
  const b = await customBundle(4, 4);
  const e = await ItemEmbedder.create(b.dir);
  try {
    const ok = await e.embed([
      { id: 1, price: 5 },
      { id: 2, price: 50 },
    ]);
    assert.deepEqual([...ok.vectors], [1, 1, 1, 1, 1, 1, 1, 1]);
    await assert.rejects(e.embed([{ id: 1, price: 5 }, { id: 22 }, { id: 3, price: 1 }, { id: 44 }]), (err: unknown) => {
      assert.ok(err instanceof EmbeddingValidationError);
      assert.equal(err.code, 'EMBEDDING_INVALID');
      assert.deepEqual(err.itemIds, [22n, 44n]);
      assert.match(err.message, /NaN\/Inf embeddings for 2 of 4 items: 22, 44/);
      return true;
    });
  } finally {
    await e.close();
    await b.cleanup();
  }
});

/**
 * A bundle declaring dim 4 whose item tower outputs zeros of width max(price bucket) — a width
 * only known at run time, so it passes load-time checks and must be caught per batch.
 */
async function dataDependentWidthBundle(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const t = await tempDir('width');
  const g = new OnnxGraphBuilder('data_dependent_width');
  const ids = g.input('price_bucket', 'int64', ['batch', 1]);
  const width = g.node('Reshape', [g.node('ReduceMax', [ids], { keepdims: 0 }), g.int64Tensor('shape1', [1], [1])]);
  const shape = g.node('Concat', [g.int64Tensor('one', [1], [1]), width], { axis: 0 });
  g.node('MatMul', [g.node('Cast', [ids], { to: 1 }), g.node('ConstantOfShape', [shape])], {}, 'embedding');
  g.output('embedding', 'float32', ['batch', 'dim']);
  await writeFile(path.join(t.dir, 'model.onnx'), g.toBytes(17, { name: 'test', version: '1' }, ''));
  await writeFile(
    path.join(t.dir, 'bundle.json'),
    JSON.stringify({
      formatVersion: 1,
      name: 'test',
      version: '1',
      dim: 4,
      metric: 'inner_product',
      normalized: false,
      item: {
        model: 'model.onnx',
        output: 'embedding',
        features: [{ kind: 'numeric', field: 'price', input: 'price_bucket', dtype: 'int64', boundaries: [10, 20, 30, 40] }],
      },
    }),
  );
  return t;
}

test('a batch whose embeddings have the wrong dimension fails naming its items', async () => {
  const b = await dataDependentWidthBundle();
  const e = await ItemEmbedder.create(b.dir);
  try {
    assert.equal((await e.embed([{ id: 4, price: 35 }])).vectors.length, 4, 'bucket 4: the declared width');
    await assert.rejects(
      e.embed([
        { id: 5, price: 1 },
        { id: 6, price: 25 },
      ]),
      (err: unknown) => {
        assert.ok(err instanceof EmbeddingValidationError);
        assert.deepEqual(err.itemIds, [5n, 6n]);
        assert.match(err.message, /returned shape \[2, 3\] for 2 items, expected \[2, 4\]; items 5, 6/);
        return true;
      },
    );
  } finally {
    await e.close();
    await b.cleanup();
  }
});

test('cuda where it is unavailable: fails clearly, or falls back to cpu with a warning', async (t) => {
  if (await hasNvidiaDevice()) {
    t.skip('an NVIDIA device is present; this test covers machines without one');
    return;
  }
  const b = await referenceBundleDir();
  try {
    const bundle = await loadBundle(b.dir);
    await assert.rejects(ItemEmbedder.create(bundle, { executionProvider: 'cuda' }), (err: unknown) => {
      assert.ok(err instanceof ExecutionProviderError);
      assert.equal(err.code, 'EXECUTION_PROVIDER_UNAVAILABLE');
      assert.match(err.message, /executionProvider "cuda" is not available/);
      return true;
    });
    const warnings: string[] = [];
    const e = await ItemEmbedder.create(bundle, {
      executionProvider: 'cuda',
      onProviderUnavailable: 'fallback-to-cpu',
      logger: { warn: (m) => warnings.push(m) },
    });
    try {
      assert.equal(e.provider, 'cpu');
      assert.equal(warnings.length, 1);
      assert.match(warnings[0]!, /CUDA execution provider unavailable .*running on CPU/);
      assert.equal((await e.embed([{ id: 1, title: 'still works' }])).ids.length, 1);
    } finally {
      await e.close();
    }
  } finally {
    await b.cleanup();
  }
});

test('invalid options fail before any work, naming the option', async () => {
  await assert.rejects(ItemEmbedder.create('/nonexistent', { batchSize: 0 }), (err: unknown) => {
    assert.ok(err instanceof ItemTowerError);
    assert.equal(err.code, 'INVALID_OPTION');
    assert.match(err.message, /batchSize must be a positive integer \(got 0\)/);
    return true;
  });
});

test('close is idempotent and later calls fail with EMBEDDER_CLOSED', async () => {
  const b = await referenceBundleDir();
  const e = await ItemEmbedder.create(b.dir);
  await e.close();
  await e.close();
  await assert.rejects(e.embed([{ id: 1 }]), (err: unknown) => err instanceof ItemTowerError && err.code === 'EMBEDDER_CLOSED');
  await b.cleanup();
});
