import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Redis } from 'ioredis';
import {
  JobDataError,
  RedisUnavailableError,
  assertRedisReachable,
  createRedis,
  jobIdFor,
  newBuildId,
  parseJobData,
  redactRedisUrl,
  redisOptionsFromUrl,
  startEmbeddedRedis,
} from './index.js';

test('an embedded redis-server answers on loopback and is gone after stop', async () => {
  const redis = await startEmbeddedRedis();
  assert.match(redis.url, /^redis:\/\/127\.0\.0\.1:\d+$/);
  const client = new Redis(redis.url);
  assert.equal(await client.ping(), 'PONG');
  await client.set('k', 'v');
  assert.equal(await client.get('k'), 'v');
  client.disconnect();
  await redis.stop();
  await redis.stop();
  await assert.rejects(assertRedisReachable(redis.url, 500), RedisUnavailableError);
});

test('an unreachable Redis fails fast with the address and without the password', async () => {
  const started = Date.now();
  await assert.rejects(assertRedisReachable('redis://user:s3cret@127.0.0.1:1/0', 1000), (e: Error) => {
    assert.ok(e instanceof RedisUnavailableError);
    assert.match(e.message, /cannot reach Redis at redis:\/\/\*\*\*@127\.0\.0\.1:1\/0/);
    assert.doesNotMatch(e.message, /s3cret/);
    return true;
  });
  assert.ok(Date.now() - started < 5000);
});

test('a wrong Redis password is named as such, not as "Connection is closed."', async () => {
  const redis = await startEmbeddedRedis();
  const admin = createRedis(redis.url);
  try {
    await admin.config('SET', 'requirepass', 'right-password');
    const port = new URL(redis.url).port;
    await assert.rejects(assertRedisReachable(`redis://:wrong-password@127.0.0.1:${port}`, 2000), (e: Error) => {
      assert.ok(e instanceof RedisUnavailableError);
      assert.match(e.message, /WRONGPASS|NOAUTH|invalid password/i);
      assert.match(e.message, /check the password/);
      assert.doesNotMatch(e.message, /wrong-password/);
      return true;
    });
    await assertRedisReachable(`redis://:right-password@127.0.0.1:${port}`, 2000);
  } finally {
    admin.disconnect();
    await redis.stop();
  }
});

test('redis URLs are parsed for BullMQ and bad ones are named', () => {
  assert.deepEqual(redisOptionsFromUrl('redis://:pw@redis.internal:6380/2'), {
    host: 'redis.internal',
    port: 6380,
    password: 'pw',
    db: 2,
    maxRetriesPerRequest: null,
  });
  assert.deepEqual(redisOptionsFromUrl('rediss://h').tls, {});
  assert.throws(() => redisOptionsFromUrl('http://h'), /a Redis URL must be redis:\/\/ or rediss:\/\//);
  assert.throws(() => redisOptionsFromUrl('not a url'), /a Redis URL must be/);
  assert.throws(() => redisOptionsFromUrl('redis://h/x'), /database/);
  assert.equal(redactRedisUrl('redis://a:b@h:1'), 'redis://***@h:1');
});

test('job ids are deterministic per build, stage and shard', () => {
  const id = newBuildId(new Date('2026-11-23T01:02:03.456Z'));
  assert.match(id, /^b20261123T010203Z-[0-9a-f]{6}$/);
  assert.equal(jobIdFor('b1', 'shard', 7), 'b1-shard-7');
  assert.equal(jobIdFor('b1', 'merge'), 'b1-merge');
  assert.throws(() => jobIdFor('b1', 'shard'), /shard index/);
});

test('job payloads are validated at the edge, naming the field', () => {
  assert.deepEqual(parseJobData('shard', { buildId: 'b1', storeUrl: 'file:///s', shard: 3, extra: 1 }), { buildId: 'b1', storeUrl: 'file:///s', shard: 3 });
  assert.throws(
    () => parseJobData('shard', { buildId: 'b1', storeUrl: 'file:///s', shard: -1 }),
    (e: Error) => e instanceof JobDataError && /data\.shard/.test(e.message),
  );
  assert.throws(() => parseJobData('train', { buildId: 'a b', storeUrl: 'x' }), /data\.buildId/);
  assert.throws(() => parseJobData('merge', { buildId: 'b1' }), /data\.storeUrl/);
  assert.throws(() => parseJobData('publish', null), /must be an object/);
});
