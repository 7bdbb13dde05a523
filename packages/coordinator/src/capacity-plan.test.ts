import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { ConfigError, chooseIndexParams } from '@reindex/core';
import { TARGET_SHARD_SECONDS, planCapacity, readScaleRates, type ScaleRates } from './capacity-plan.js';

const rates: ScaleRates = {
  measured: 'test rates',
  shardItemsPerWorkerSecond: 10_000,
  trainSecondsPerSampleVector: 60e-6,
  mergeBytesPerSecond: 25e6,
  qualitySecondsPerThousandQueries: 20,
  storeObjectsPerShard: 3,
  redisBytesPerShard: 3640,
};

test('a billion-item night: serial stages from the rates, workers for the rest of the window', () => {
  const params = chooseIndexParams(1_000_000_000, 128);
  const plan = planCapacity(params, 1_000_000_000, 4, 1000, rates);
  assert.equal(plan.trainSeconds, 4_000_000 * 60e-6); // 240 s on the 4M sample
  assert.equal(plan.mergeSeconds, params.estimatedIndexBytes / 25e6);
  assert.equal(plan.qualitySeconds, 20);
  const window = 4 * 3600 - plan.trainSeconds - plan.mergeSeconds - plan.qualitySeconds;
  assert.equal(plan.shardStageSeconds, window);
  assert.equal(plan.workers, Math.ceil(1e9 / (10_000 * window)));
  // Enough workers finish the shards in the window; one fewer would not.
  assert.ok(plan.workers * 10_000 * window >= 1e9 && (plan.workers - 1) * 10_000 * window < 1e9);
  assert.equal(plan.shards, Math.ceil(1e9 / (10_000 * TARGET_SHARD_SECONDS)));
  assert.equal(plan.storeObjects, plan.shards * 3);
  assert.equal(plan.redisBytes, plan.shards * 3640);
  assert.equal(plan.mergeDiskBytes, 2 * params.estimatedIndexBytes);
  // Half the hours: the serial stages stay, so more than twice the workers.
  assert.ok(planCapacity(params, 1e9, 2, 1000, rates).workers > 2 * plan.workers - 1);
});

test('a window shorter than the serial stages and bad rate files are refused with the reason', async () => {
  const params = chooseIndexParams(1_000_000_000, 128);
  assert.throws(
    () => planCapacity(params, 1e9, 0.5, 1000, rates),
    (e: unknown) => e instanceof ConfigError && e.code === 'WINDOW_TOO_SHORT' && /0.5 h is too short/.test(e.message),
  );
  assert.throws(() => planCapacity(params, 1e9, 0, 1000, rates), /--hours must be a positive number/);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'reindex-rates-'));
  try {
    const file = path.join(dir, 'rates.json');
    await writeFile(file, JSON.stringify(rates));
    assert.deepEqual(await readScaleRates(file), rates);
    await writeFile(file, JSON.stringify({ ...rates, shardItemsPerWorkerSecond: 0, mergeBytesPerSecond: 'fast' }));
    await assert.rejects(readScaleRates(file), /shardItemsPerWorkerSecond must be a positive number; mergeBytesPerSecond must be a positive number/);
    await assert.rejects(
      readScaleRates(path.join(dir, 'missing.json')),
      (e: unknown) => e instanceof ConfigError && e.code === 'SCALE_RATES_UNREADABLE' && /bench:scale writes them/.test(e.message),
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
