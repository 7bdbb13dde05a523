import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { ConfigError } from '../errors.js';
import { deepMerge, loadConfig, validateConfig } from './load-config.js';
import { DEFAULT_CONFIG } from './reindex-config.js';

describe('loadConfig', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'reindex-config-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function rejectsWith(promise: Promise<unknown>, ...mentions: string[]): Promise<void> {
    await assert.rejects(promise, (e: unknown) => {
      assert.ok(e instanceof ConfigError, String(e));
      for (const m of mentions) assert.ok(e.message.includes(m), `${JSON.stringify(e.message)} should mention ${m}`);
      return true;
    });
  }

  it('returns the documented defaults with no file and no overrides', async () => {
    assert.deepEqual(DEFAULT_CONFIG, {
      name: 'catalogue',
      catalogue: {
        fields: { id: 'id', title: 'title', category: 'category', brand: 'brand', shop: 'shop', price: 'price' },
        normalizeEmbeddings: false,
        idKind: 'auto',
        duplicateIds: 'reject',
      },
      store: { url: 'var/store' },
      index: {
        metric: 'ip',
        trainPointsPerCentroid: 50,
        maxTrainSampleSize: 4_000_000,
        servingMemoryBytes: 64 * 1024 ** 3,
        builderMemoryBytes: 16 * 1024 ** 3,
        quality: { queries: 1000, targetRecallAt10: 0.95, latencyBudgetMs: 5, maxItemDropFraction: 0.1, maxRejectedFraction: 0.05 },
      },
      shardCount: 8,
      keepVersions: 3,
      incremental: 'off',
      s3: {},
    });
    assert.deepEqual(await loadConfig(), DEFAULT_CONFIG);
  });

  it('layers file over defaults and overrides over the file, resolving file paths against the file', async () => {
    const file = join(dir, 'reindex.json');
    await writeFile(
      file,
      JSON.stringify({
        name: 'shoes',
        catalogue: { url: 'data/items.parquet', fields: { id: 'sku', title: 'name' } },
        store: { url: 's3://bucket/reindex' },
        index: { nprobe: 16, metric: 'l2', quality: { targetRecallAt10: 0.9, maxNprobe: 64 } },
        shardCount: 32,
        s3: { endpoint: 'http://127.0.0.1:9000', forcePathStyle: true },
      }),
    );
    const config = await loadConfig(file, { shardCount: 4, index: { trainSampleSize: 5000 } });
    assert.equal(config.name, 'shoes');
    assert.equal(config.catalogue.url, join(dir, 'data/items.parquet'));
    assert.deepEqual(config.catalogue.fields, { id: 'sku', title: 'name', category: 'category', brand: 'brand', shop: 'shop', price: 'price' });
    assert.equal(config.store.url, 's3://bucket/reindex');
    assert.deepEqual(config.index, {
      metric: 'l2',
      nprobe: 16,
      trainSampleSize: 5000,
      trainPointsPerCentroid: 50,
      maxTrainSampleSize: 4_000_000,
      servingMemoryBytes: 64 * 1024 ** 3,
      builderMemoryBytes: 16 * 1024 ** 3,
      quality: { ...DEFAULT_CONFIG.index.quality, targetRecallAt10: 0.9, maxNprobe: 64 },
    });
    assert.equal(config.shardCount, 4);
    assert.equal(config.keepVersions, 3);
    assert.deepEqual(config.s3, { endpoint: 'http://127.0.0.1:9000', forcePathStyle: true });
  });

  it('names every invalid option by its path', async () => {
    const file = join(dir, 'bad.json');
    await writeFile(
      file,
      JSON.stringify({ index: { nprobe: 0, metric: 'cosine' }, shardCount: 2.5, shardcount: 3, redisUrl: 'localhost:6379', s3: { partSizeBytes: 10 } }),
    );
    await rejectsWith(
      loadConfig(file),
      file,
      'index.nprobe: must be a positive integer, got 0',
      'index.metric: must be "ip" or "l2", got "cosine"',
      'shardCount: must be a positive integer, got 2.5',
      'shardcount: unknown option',
      'redisUrl: must be a redis:// or rediss:// URL',
    );
    await writeFile(file, JSON.stringify({ s3: { partSizeBytes: 10 } }));
    await rejectsWith(loadConfig(file), 's3.partSizeBytes must be an integer >= 5242880, got 10');
    await rejectsWith(loadConfig(undefined, { index: { factory: 'IVF64,PQ8', nprobe: 128 } }), 'index.nprobe: must be <= nlist 64');
    await rejectsWith(loadConfig(undefined, { catalogue: { fields: { id: '' } } }), 'catalogue.fields.id: must be a non-empty string');
    await rejectsWith(
      loadConfig(undefined, { index: { quality: { targetRecallAt10: 1.5, latencyBudgetMs: 0, queries: 0, maxItemDropFraction: -0.1 } } }),
      'index.quality.targetRecallAt10: must be a number from 0 to 1, got 1.5',
      'index.quality.latencyBudgetMs: must be a positive number of milliseconds, got 0',
      'index.quality.queries: must be a positive integer, got 0',
      'index.quality.maxItemDropFraction: must be a number from 0 to 1, got -0.1',
    );
    await rejectsWith(loadConfig(undefined, { name: '../etc' }), 'name:');
    // A config written before the budget split says what replaced the option.
    await writeFile(file, JSON.stringify({ index: { memoryBudgetBytes: 4294967296 } }));
    await rejectsWith(loadConfig(file), 'index.memoryBudgetBytes: was split into index.servingMemoryBytes', 'index.builderMemoryBytes');
    await rejectsWith(
      loadConfig(undefined, { index: { builderMemoryBytes: 0, maxTrainSampleSize: 1.5 } }),
      'index.builderMemoryBytes: must be a positive integer number of bytes, got 0',
      'index.maxTrainSampleSize: must be a positive integer, got 1.5',
    );
  });

  it('reports unreadable and malformed files by path', async () => {
    await rejectsWith(loadConfig(join(dir, 'missing.json')), 'missing.json');
    await writeFile(join(dir, 'broken.json'), '{ "name": ');
    await rejectsWith(loadConfig(join(dir, 'broken.json')), 'broken.json', 'not valid JSON');
    await writeFile(join(dir, 'array.json'), '[]');
    await rejectsWith(loadConfig(join(dir, 'array.json')), 'must contain a JSON object');
  });

  it('deep-merges objects, replaces scalars and ignores undefined', () => {
    assert.deepEqual(deepMerge({ a: { b: 1, c: 2 }, d: 1 }, { a: { c: 3 }, d: undefined }), { a: { b: 1, c: 3 }, d: 1 });
    assert.throws(() => validateConfig({ ...DEFAULT_CONFIG, workers: -1 }), /workers: must be a non-negative integer/);
  });
});
