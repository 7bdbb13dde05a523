import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BuildFailedError, type BuildProgress } from '@reindex/coordinator';
import { commandLineArgs } from '@reindex/core';
import { CliError } from './args.js';
import { failureJson } from './json-output.js';
import { progressLine } from './progress.js';

const base: BuildProgress = {
  buildId: 'b',
  stage: 'shards',
  shardsTotal: 8,
  shardsDone: 4,
  shardsActive: 2,
  items: 50_000,
  itemsReused: 0,
  rejected: 3,
  elapsedMs: 200_000,
  shardStageMs: 10_000,
};

test('training says what it does: sampling n/N rows, then k-means', () => {
  assert.equal(
    progressLine({ ...base, stage: 'train', train: { step: 'sample', sampled: 12_000, embedded: 11_990, sampleSize: 100_000 } }),
    '[train] sampling 12,000/100,000 rows · 11,990 embedded · 200 s',
  );
  assert.equal(
    progressLine({ ...base, stage: 'train', train: { step: 'k-means', embedded: 99_000, resumed: true } }),
    '[train] k-means on 99,000 vectors (sample from a checkpoint) · 200 s',
  );
  assert.doesNotMatch(progressLine({ ...base, stage: 'train' }), /shards/);
});

test("the shard rate is over the shard stage and this run's items only; reused shards are shown apart", () => {
  // 50,000 items in the 10 s of the shard stage: 5,000/s (not 250/s over the whole 200 s run).
  assert.match(progressLine(base), /· 5,000 items\/s · ETA /);
  const resumed = progressLine({ ...base, itemsReused: 40_000 });
  assert.match(resumed, /50,000 items \(40,000 reused\)/);
  assert.match(resumed, /· 1,000 items\/s/);
});

test("the publish job's measuring step is labelled quality", () => {
  assert.match(progressLine({ ...base, stage: 'quality', shardsDone: 8, shardsActive: 0 }), /^\[quality\] .* measuring recall/);
  assert.doesNotMatch(progressLine({ ...base, stage: 'quality', shardsDone: 8, shardsActive: 0 }), /ETA/);
});

test("--json failures name the stage, the shard and the failing job's own code", () => {
  const shard = new BuildFailedError(
    'b1',
    'shard 3',
    'build b1: shard 3 failed after 1 attempt: items.parquet changed (CATALOGUE_CHANGED; not retried: fix the input, then retry the job)',
  );
  assert.deepEqual(failureJson(shard), { ok: false, code: 'CATALOGUE_CHANGED', message: shard.message, buildId: 'b1', stage: 'shards', shard: 3 });
  const transient = new BuildFailedError('b2', 'train', 'train failed after 4 attempts: connection reset');
  assert.deepEqual(failureJson(transient), { ok: false, code: 'BUILD_FAILED', message: transient.message, buildId: 'b2', stage: 'train' });
  assert.equal(failureJson(new CliError('bad flag')).code, 'USAGE');
  assert.equal(failureJson(Object.assign(new Error('no'), { code: 'CATALOGUE_FIELDS_INVALID' })).code, 'CATALOGUE_FIELDS_INVALID');
});

test('a leading -- (pnpm run x -- --flag) is dropped; later ones are kept', () => {
  assert.deepEqual(commandLineArgs(['--', '--redis', 'redis://h']), ['--redis', 'redis://h']);
  assert.deepEqual(commandLineArgs(['search', '--', '--not-a-flag']), ['search', '--', '--not-a-flag']);
  assert.deepEqual(commandLineArgs([]), []);
});
