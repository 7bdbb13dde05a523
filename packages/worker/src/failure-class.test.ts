import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError, IdMapError, ObjectStoreError, PlanError, ReindexError, openCatalogue, openObjectStore, planShards } from '@reindex/core';
import { FaissIndex } from '@reindex/faiss';
import { BundleError, EmbeddingValidationError, InferenceError } from '@reindex/item-tower';
import { JobDataError, RedisUnavailableError, parseJobData } from '@reindex/queue';
import { classifyFailure } from './failure-class.js';

/** The error a call throws (the call must throw). */
async function thrownBy(call: () => unknown): Promise<unknown> {
  try {
    await call();
  } catch (error) {
    return error;
  }
  assert.fail('expected the call to throw');
}

describe('classifyFailure', () => {
  it('fails corrupt catalogue bytes permanently: a truncated gzip file, read for real', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'reindex-failure-'));
    try {
      await writeFile(path.join(dir, 'items.jsonl.gz'), Buffer.from([0x1f, 0x8b, 0x08, 0x00, 1, 2, 3]));
      const catalogue = await openCatalogue(`file://${dir}`);
      const error = await thrownBy(async () => {
        const plan = await planShards(catalogue, 1);
        for await (const batch of catalogue.readShard(plan.shards[0]!, { batchSize: 16 })) void batch;
      });
      await catalogue.close();
      assert.equal((error as { code?: string }).code, 'GZIP_INVALID', String(error));
      assert.equal(classifyFailure(error), 'permanent');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('fails what faiss refuses permanently (unknown factory, add to a Flat index), but not a closed handle', async () => {
    assert.equal(classifyFailure(await thrownBy(() => FaissIndex.fromFactory(8, 'IVF8,Bogus'))), 'permanent');
    const flat = FaissIndex.fromFactory(4, 'Flat');
    const notImplemented = await thrownBy(() => flat.addWithIds(new Float32Array(4), new BigInt64Array(1)));
    assert.match(String(notImplemented), /add_with_ids/);
    assert.equal(classifyFailure(notImplemented), 'permanent');
    await flat.close();
    assert.equal(classifyFailure(await thrownBy(() => flat.search(new Float32Array(4), 1))), 'transient');
  });

  it('fails invalid payloads, options, plans, ids, bundles and model output permanently', async () => {
    const payload = await thrownBy(() => parseJobData('shard', { buildId: 1 }));
    assert.ok(payload instanceof JobDataError);
    for (const error of [
      payload,
      new ConfigError('index.factory: bad'),
      new PlanError('CATALOGUE_CHANGED', 'items.parquet changed'),
      new IdMapError('ID_INVALID', 'bad id'),
      new ObjectStoreError('PERMISSION_DENIED', 'denied'),
      new ObjectStoreError('STORE_FULL', 'no space left on the store'),
      new BundleError('BUNDLE_INVALID', 'item.onnx is not ONNX'),
      new EmbeddingValidationError('NaN for item 7', [7n]),
      Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES' }),
    ]) {
      assert.equal(classifyFailure(error), 'permanent', String(error));
    }
  });

  it('retries the store, the network, the machine and what nobody classified', async () => {
    const store = openObjectStore('s3://bucket', {
      s3: {
        endpoint: 'http://127.0.0.1:9',
        forcePathStyle: true,
        region: 'us-east-1',
        credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
        maxAttempts: 1,
      },
    });
    const unreachable = await thrownBy(() => store.get('x'));
    assert.ok(unreachable instanceof ObjectStoreError && unreachable.code === 'ENDPOINT_UNREACHABLE', String(unreachable));
    for (const error of [
      unreachable,
      new ObjectStoreError('OBJECT_NOT_FOUND', 'trained.index'),
      new InferenceError('INFERENCE_FAILED', 'CUDA out of memory'),
      new RedisUnavailableError('cannot reach Redis at redis://h:6379: ECONNREFUSED'),
      Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }),
      Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' }),
      new Error('something nobody classified'),
    ]) {
      assert.equal(classifyFailure(error), 'transient', String(error));
    }
    // Every one of these is a ReindexError now (one hierarchy): the item tower's codes still decide.
    assert.ok(new InferenceError('INFERENCE_FAILED', 'x') instanceof ReindexError);
  });
});
