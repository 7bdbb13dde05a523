import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError } from '../errors.js';
import { chooseIndexParams, INDEX_PARAM_RULE } from './index-params.js';

const GiB = 1024 ** 3;

describe('chooseIndexParams', () => {
  it('picks nlist as a power of two within 4..16·sqrt(N)', () => {
    for (const n of [250_000, 1_000_000, 30_000_000]) {
      const { nlist } = chooseIndexParams(n, 64, 64 * GiB, { trainSampleSize: 10_000_000 });
      assert.equal(Math.log2(nlist) % 1, 0, `${nlist} is a power of two`);
      assert.ok(nlist >= 4 * Math.sqrt(n) && nlist <= 16 * Math.sqrt(n), `nlist ${nlist} for N=${n}`);
    }
    assert.equal(chooseIndexParams(1_000_000, 64, 64 * GiB, { trainSampleSize: 10_000_000 }).nlist, 8192);
    // Small catalogues train on all items: 10,000 / 39 caps 1024 (nearest 8·sqrt(N) = 800) to 256.
    assert.equal(chooseIndexParams(10_000, 64, 64 * GiB).nlist, 256);
  });

  it('caps nlist so every centroid gets at least 39 training points', () => {
    const params = chooseIndexParams(1_000_000, 64, 64 * GiB, { trainSampleSize: 100_000 });
    assert.equal(params.nlist, 2048); // 100000 / 39 = 2564 -> 2048
    assert.ok(100_000 / params.nlist >= INDEX_PARAM_RULE.minTrainPointsPerCentroid);
    assert.ok(params.rationale.some((r) => r.includes('capped')));
    assert.equal(chooseIndexParams(50, 16, GiB).nlist, 1);
  });

  it('chooses the largest GPU-compatible PQ size dividing dim that fits the budget', () => {
    const roomy = chooseIndexParams(1_000_000, 128, 64 * GiB);
    // Sub-vectors of at least 4 dimensions: PQ32 is the largest for 128-d.
    assert.equal(roomy.pqM, 32);
    assert.equal(roomy.factory, 'IVF2048,PQ32');
    assert.equal(chooseIndexParams(1_000_000, 256, 64 * GiB).pqM, 64);
    // 10M vectors in ~200 MB: 20 bytes per vector minus 8 for the id leaves 12.
    const tight = chooseIndexParams(10_000_000, 96, 10_000_000 * 20 + 2_000_000);
    assert.equal(tight.pqM, 12);
    assert.equal(tight.bytesPerVector, 20);
    assert.ok(tight.estimatedIndexBytes <= 10_000_000 * 20 + 2_000_000);
    assert.equal(chooseIndexParams(1000, 100, GiB).pqM, 20, 'dim 100: 64..24 do not divide it');
  });

  it('switches to an HNSW coarse quantizer from nlist 65536', () => {
    const big = chooseIndexParams(100_000_000, 64, 64 * GiB, { trainSampleSize: 4_000_000 });
    assert.equal(big.nlist, 65_536);
    assert.equal(big.coarseQuantizer, 'hnsw32');
    assert.match(big.factory, /^IVF65536_HNSW32,PQ\d+$/);
    assert.equal(chooseIndexParams(10_000_000, 64, 64 * GiB, { trainSampleSize: 4_000_000 }).coarseQuantizer, 'flat');
  });

  it('explains a budget that cannot hold the index and rejects bad inputs', () => {
    assert.throws(
      () => chooseIndexParams(1_000_000, 64, 1_000_000),
      (e: unknown) => e instanceof ConfigError && e.code === 'INDEX_BUDGET_TOO_SMALL' && e.message.includes('index.memoryBudgetBytes 1000000'),
    );
    assert.throws(() => chooseIndexParams(0, 64, GiB), /item count/);
    assert.throws(() => chooseIndexParams(10, 0, GiB), /dim/);
  });
});
