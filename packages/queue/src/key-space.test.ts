import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ReindexKeys } from './key-space.js';

test('every Redis name derives from the prefix; job ids round-trip', () => {
  const keys = new ReindexKeys('shop-a');
  assert.equal(keys.buildLock('catalogue'), 'shop-a:lock:build:catalogue');
  assert.equal(keys.heartbeat('w1'), 'shop-a:workers:w1');
  assert.equal(keys.heartbeatPattern(), 'shop-a:workers:*');
  assert.equal(keys.scheduleCounter('catalogue', 'ran'), 'shop-a:schedule:catalogue:ran');
  assert.equal(new ReindexKeys().buildLock('catalogue'), 'reindex:lock:build:catalogue');
  for (const [stage, shard] of [['train'], ['shard', 7], ['merge'], ['publish']] as const) {
    const id = keys.jobId('b20261203T000000Z-abc123', stage, shard);
    assert.deepEqual(keys.parseJobId(id), { buildId: 'b20261203T000000Z-abc123', stage, ...(shard !== undefined ? { shard } : {}) });
  }
  assert.equal(keys.parseJobId('something-else'), undefined);
  assert.deepEqual(keys.shardJobIdIn('child bull:reindex-shard:b1-shard-12 failed'), { buildId: 'b1', stage: 'shard', shard: 12, jobId: 'b1-shard-12' });
  assert.equal(keys.isShardOf('b1-shard-3', 'b1'), true);
  assert.equal(keys.isShardOf('b10-shard-3', 'b1'), false);
  assert.throws(() => new ReindexKeys('bad prefix'), /queue prefix must match/);
});
