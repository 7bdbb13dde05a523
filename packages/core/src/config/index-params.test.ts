import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError } from '../errors.js';
import { chooseIndexParams, configuredIndexParams, INDEX_PARAM_RULE } from './index-params.js';
import { DEFAULT_CONFIG } from './reindex-config.js';

const GiB = 1024 ** 3;
const roomy = { servingMemoryBytes: 1024 * GiB, builderMemoryBytes: 1024 * GiB, maxTrainSampleSize: 100_000_000 };

describe('chooseIndexParams', () => {
  it('picks nlist as a power of two within 4..16·sqrt(N)', () => {
    for (const n of [250_000, 1_000_000, 30_000_000, 1_000_000_000]) {
      const { nlist } = chooseIndexParams(n, 64, roomy);
      assert.equal(Math.log2(nlist) % 1, 0, `${nlist} is a power of two`);
      assert.ok(nlist >= 4 * Math.sqrt(n) && nlist <= 16 * Math.sqrt(n), `nlist ${nlist} for N=${n}`);
    }
    assert.equal(chooseIndexParams(1_000_000, 64, roomy).nlist, 8192);
    // Small catalogues train on all items: 10,000 / 39 caps 1024 (nearest 8·sqrt(N) = 800) to 256.
    assert.equal(chooseIndexParams(10_000, 64).nlist, 256);
    assert.equal(chooseIndexParams(50, 16).nlist, 1);
  });

  it('grows the training sample with nlist, so nlist follows the catalogue with the default config', () => {
    const rows: Array<[number, number, number]> = [
      // items, nlist, training sample (50 points per centroid, at most N and 4M)
      [100_000, 2048, 100_000],
      [1_000_000, 8192, 409_600],
      [10_000_000, 32_768, 1_638_400],
      [100_000_000, 65_536, 3_276_800],
      [1_000_000_000, 65_536, 4_000_000],
    ];
    for (const [items, nlist, sample] of rows) {
      const p = chooseIndexParams(items, 128);
      assert.equal(p.nlist, nlist, `nlist for ${items}`);
      assert.equal(p.trainSampleSize, sample, `sample for ${items}`);
      assert.ok(p.trainSampleSize / p.nlist >= INDEX_PARAM_RULE.minTrainPointsPerCentroid);
      assert.equal(p.estimatedTrainBytes, sample * INDEX_PARAM_RULE.trainSampleCopies * 128 * 4);
      assert.ok(p.estimatedTrainBytes <= DEFAULT_CONFIG.index.builderMemoryBytes / 2, `train bytes within half the builder budget at ${items}`);
    }
    // A larger cap lets 1e9 items reach the nlist 8·sqrt(N) asks for.
    const billion = chooseIndexParams(1_000_000_000, 128, { maxTrainSampleSize: 20_000_000, builderMemoryBytes: 256 * GiB });
    assert.equal(billion.nlist, 262_144);
    assert.equal(billion.trainSampleSize, 262_144 * 50);
  });

  it('bounds the sample by half the builder budget and caps nlist to keep 39 points per centroid', () => {
    const small = chooseIndexParams(100_000_000, 128, { builderMemoryBytes: GiB });
    const bytesPerVector = INDEX_PARAM_RULE.trainSampleCopies * 128 * 4;
    assert.equal(small.trainSampleSize, Math.floor(GiB / 2 / bytesPerVector));
    assert.ok(small.estimatedTrainBytes <= GiB / 2);
    assert.equal(small.nlist, 8192); // 524,288 / 39 = 13,443 -> 8192
    assert.ok(small.rationale.some((r) => r.includes('builderMemoryBytes')));
    assert.ok(small.rationale.some((r) => r.includes('capped')));
  });

  it('a fixed trainSampleSize wins and still caps nlist', () => {
    const params = chooseIndexParams(1_000_000, 64, { ...roomy, trainSampleSize: 100_000 });
    assert.equal(params.nlist, 2048); // 100000 / 39 = 2564 -> 2048
    assert.equal(params.trainSampleSize, 100_000);
    assert.ok(params.rationale.some((r) => r.includes('capped')));
    assert.equal(chooseIndexParams(5000, 64, { trainSampleSize: 100_000 }).trainSampleSize, 5000);
  });

  it('trains large nlist by two-level k-means and quantizes it with HNSW', () => {
    const byItems = (n: number) => chooseIndexParams(n, 128);
    assert.equal(byItems(100_000).coarseTraining, 'flat');
    assert.equal(byItems(100_000).coarseQuantizer, 'flat');
    assert.equal(byItems(100_000).quantizerEfSearch, undefined);
    assert.equal(byItems(1_000_000).coarseTraining, 'two-level');
    assert.equal(byItems(1_000_000).coarseQuantizer, 'flat');
    const big = byItems(10_000_000);
    assert.equal(big.coarseTraining, 'two-level');
    assert.equal(big.coarseQuantizer, 'hnsw32');
    assert.equal(big.quantizerEfSearch, INDEX_PARAM_RULE.hnswEfSearch);
    assert.equal(big.factory, 'IVF32768_HNSW32,PQ32');
  });

  it('chooses the largest GPU-compatible PQ size dividing dim that fits the serving budget', () => {
    const params = chooseIndexParams(1_000_000, 128, roomy);
    // Sub-vectors of at least 4 dimensions: PQ32 is the largest for 128-d.
    assert.equal(params.pqM, 32);
    assert.equal(params.factory, 'IVF8192,PQ32');
    assert.equal(chooseIndexParams(1_000_000, 256, roomy).pqM, 64);
    // 10M vectors in ~200 MB: 20 bytes per vector minus 8 for the id leaves 12.
    const tight = chooseIndexParams(10_000_000, 96, { servingMemoryBytes: 10_000_000 * 20 + 30_000_000 });
    assert.equal(tight.pqM, 12);
    assert.equal(tight.bytesPerVector, 20);
    assert.ok(tight.estimatedIndexBytes <= 10_000_000 * 20 + 30_000_000);
    assert.equal(chooseIndexParams(1000, 100).pqM, 20, 'dim 100: 64..24 do not divide it');
  });

  it('plans a billion items with the default config, and 1e10 with a budget that holds them', () => {
    const billion = chooseIndexParams(1_000_000_000, 128);
    assert.equal(billion.factory, 'IVF65536_HNSW32,PQ32');
    assert.ok(billion.estimatedIndexBytes <= DEFAULT_CONFIG.index.servingMemoryBytes);
    // 1e10 items need 160 GB even at PQ8: the default 64 GiB host refuses, naming the option.
    assert.throws(
      () => chooseIndexParams(10_000_000_000, 128),
      (e: unknown) => e instanceof ConfigError && e.code === 'INDEX_BUDGET_TOO_SMALL' && e.message.includes('index.servingMemoryBytes'),
    );
    const huge = chooseIndexParams(10_000_000_000, 128, { servingMemoryBytes: 1024 * GiB });
    assert.equal(huge.pqM, 32);
    assert.equal(huge.nlist, 65_536);
    const squeezed = chooseIndexParams(10_000_000_000, 128, { servingMemoryBytes: 200 * GiB });
    assert.equal(squeezed.pqM, 8);
  });

  it('explains a budget that cannot hold the index and rejects bad inputs', () => {
    assert.throws(
      () => chooseIndexParams(1_000_000, 64, { servingMemoryBytes: 1_000_000 }),
      (e: unknown) => e instanceof ConfigError && e.code === 'INDEX_BUDGET_TOO_SMALL' && e.message.includes('index.servingMemoryBytes 1000000'),
    );
    assert.throws(() => chooseIndexParams(0, 64), /item count/);
    assert.throws(() => chooseIndexParams(10, 0), /dim/);
    assert.throws(() => chooseIndexParams(10, 8, { builderMemoryBytes: 0 }), /index.builderMemoryBytes must be a positive integer, got 0/);
    assert.throws(() => chooseIndexParams(10, 8, { trainPointsPerCentroid: 1.5 }), /index.trainPointsPerCentroid/);
  });
});

describe('configuredIndexParams', () => {
  it('keeps the factory as written and sizes training by the same rule', () => {
    const p = configuredIndexParams('IVF16384_HNSW32,PQ16', 10_000_000, 128);
    assert.equal(p.nlist, 16_384);
    assert.equal(p.pqM, 16);
    assert.equal(p.coarseQuantizer, 'hnsw32');
    assert.equal(p.coarseTraining, 'two-level');
    assert.equal(p.trainSampleSize, 16_384 * 50);
    const small = configuredIndexParams('IVF32,PQ16', 4000, 128, { trainSampleSize: 2000 });
    assert.equal(small.trainSampleSize, 2000);
    assert.equal(small.coarseTraining, 'flat');
    // k-means needs at least one point per list: refused at plan time, naming the options.
    assert.throws(
      () => configuredIndexParams('IVF8192,PQ16', 5000, 128),
      (e: unknown) => e instanceof ConfigError && e.code === 'TRAIN_SAMPLE_TOO_SMALL' && /8192 lists but the training sample is 5000/.test(e.message),
    );
    assert.throws(() => configuredIndexParams('IVF32,PQ16', 4000, 128, { builderMemoryBytes: 1024 }), /index.builderMemoryBytes/);
    // faiss would allocate ~5 GB of empty list headers for this one before refusing it.
    assert.throws(
      () => configuredIndexParams('IVF99999999,PQ64', 1_000_000_000, 128),
      (e: unknown) =>
        e instanceof ConfigError &&
        e.code === 'INDEX_FACTORY_TOO_LARGE' &&
        /99999999 lists: their centroids and list headers alone take 55999999440 bytes/.test(e.message),
    );
  });
});
