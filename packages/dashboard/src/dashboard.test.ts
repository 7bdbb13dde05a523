import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { jobIdFor, startEmbeddedRedis } from '@reindex/queue';
import { startWorker } from '@reindex/worker';
import { DEFAULT_DASHBOARD_OPTIONS, DashboardConfigError, resolveDashboardOptions, startDashboard } from './index.js';
import { openObjectStore } from '@reindex/core';
import { startS3TestServer } from '@reindex/core/testing';
import { readBuildLog } from './build-log.js';
import { submittedBuild, trainDone, until } from './build-fixture.test-support.js';

function capture() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      lines.push(chunk.toString());
      cb();
    },
  });
  return { lines, logger: pino({ level: 'debug' }, stream) };
}

test('defaults are loopback on port 3000, and a wider bind without a token is refused', async () => {
  assert.deepEqual({ host: DEFAULT_DASHBOARD_OPTIONS.host, port: DEFAULT_DASHBOARD_OPTIONS.port }, { host: '127.0.0.1', port: 3000 });
  assert.throws(
    () => resolveDashboardOptions({ redisUrl: 'redis://h', host: '0.0.0.0' }),
    (e: Error) => e instanceof DashboardConfigError && /REINDEX_DASHBOARD_TOKEN/.test(e.message),
  );
  assert.throws(() => resolveDashboardOptions({ redisUrl: 'redis://h', host: '0.0.0.0', token: 'short' }), /at least 8/);
  assert.equal(resolveDashboardOptions({ redisUrl: 'redis://h', host: '0.0.0.0', token: 'long-enough-token' }).host, '0.0.0.0');
  await assert.rejects(startDashboard({ redisUrl: 'redis://127.0.0.1:1', host: '::', port: 0 }), DashboardConfigError);
});

test('a token guards pages, API and actions; /healthz stays open; no secret reaches a response or a log line', async () => {
  const redis = await startEmbeddedRedis();
  const admin = new Redis(redis.url);
  await admin.config('SET', 'requirepass', 'redis-s3cret-pw');
  admin.disconnect();
  const redisUrl = redis.url.replace('redis://', 'redis://:redis-s3cret-pw@');
  const token = 'dashboard-t0ken-xyz';
  const { lines, logger } = capture();
  const dashboard = await startDashboard({ redisUrl, host: '0.0.0.0', port: 0, token, logger });
  try {
    const get = (p: string, headers: Record<string, string> = {}) => fetch(`${dashboard.url}${p}`, { headers });
    assert.equal((await get('/healthz')).status, 200);
    for (const p of ['/', '/api/overview', '/api/builds', '/api/workers', '/api/versions', '/metrics', '/queues']) {
      assert.equal((await get(p)).status, 401, `${p} without a token`);
      assert.equal((await get(p, { authorization: 'Bearer wrong-token-123' })).status, 401, `${p} with a wrong token`);
    }
    assert.equal((await get('/api/overview', { authorization: `Bearer ${token}` })).status, 200);
    assert.equal((await get('/api/overview', { authorization: `Basic ${Buffer.from(`ops:${token}`).toString('base64')}` })).status, 200);
    const auth = { authorization: `Bearer ${token}` };
    const post = (p: string, headers: Record<string, string>) =>
      fetch(`${dashboard.url}${p}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: '{}' });
    assert.equal((await post('/api/builds/b1/cancel', { 'x-reindex-action': '1' })).status, 401, 'action without a token');
    assert.equal((await post('/api/builds/b1/cancel', auth)).status, 403, 'action without the CSRF header');
    assert.equal((await post('/api/builds/b1/shards/0/retry', { ...auth, 'x-reindex-action': '1' })).status, 404, 'retry of a job that does not exist');
    const bodies = await Promise.all(['/healthz', '/api/overview', '/api/versions', '/metrics', '/queues', '/'].map(async (p) => (await get(p, auth)).text()));
    const overview = JSON.parse(bodies[1] ?? '{}') as { redis: string; tokenRequired: boolean };
    assert.match(overview.redis, /^redis:\/\/\*\*\*@127\.0\.0\.1:\d+$/);
    assert.equal(overview.tokenRequired, true);
    for (const text of [...bodies, ...lines]) {
      assert.doesNotMatch(text, /redis-s3cret-pw/);
      assert.doesNotMatch(text, /dashboard-t0ken-xyz/);
    }
    assert.ok(
      lines.some((l) => /reindex-dashboard listening/.test(l) && /"auth":"token"/.test(l)),
      'a structured startup log line',
    );
  } finally {
    await dashboard.close();
    await redis.stop();
  }
});

test('on loopback, a set token is still required for actions, and foreign Host headers are refused', async () => {
  const redis = await startEmbeddedRedis();
  const dashboard = await startDashboard({ redisUrl: redis.url, port: 0, token: 'loopback-token-1', logger: pino({ level: 'silent' }) });
  const open = await startDashboard({ redisUrl: redis.url, port: 0, logger: pino({ level: 'silent' }) });
  try {
    const res = await fetch(`${dashboard.url}/api/builds/b1/cancel`, { method: 'POST', headers: { 'x-reindex-action': '1' } });
    assert.equal(res.status, 401);
    assert.equal((await fetch(`${open.url}/api/overview`)).status, 200, 'no token set: loopback is open');
    // DNS rebinding: a page on evil.example resolving to 127.0.0.1 sends its own Host header.
    const { request } = await import('node:http');
    const status = await new Promise<number>((resolve, reject) => {
      const u = new URL(`${open.url}/api/overview`);
      request({ host: u.hostname, port: u.port, path: u.pathname, headers: { host: 'evil.example' } }, (r) => {
        r.resume();
        resolve(r.statusCode ?? 0);
      })
        .on('error', reject)
        .end();
    });
    assert.equal(status, 421);
  } finally {
    await dashboard.close();
    await open.close();
    await redis.stop();
  }
});

test('hostile requests get 4xx, not 500: huge and invalid bodies, foreign origins, unknown builds, the read-only queue board', async () => {
  const redis = await startEmbeddedRedis();
  const dashboard = await startDashboard({ redisUrl: redis.url, port: 0, logger: pino({ level: 'silent' }) });
  const action = { 'x-reindex-action': '1', 'content-type': 'application/json' };
  try {
    const build = 'b20261203T000000Z-abcdef';
    const huge = await fetch(`${dashboard.url}/api/builds/${build}/retry`, {
      method: 'POST',
      headers: action,
      body: JSON.stringify({ stage: 'x'.repeat(30 * 1024 * 1024) }),
    });
    assert.equal(huge.status, 413, await huge.clone().text());
    const invalid = await fetch(`${dashboard.url}/api/builds/${build}/retry`, { method: 'POST', headers: action, body: '{"stage": ' });
    assert.equal(invalid.status, 400, await invalid.clone().text());
    assert.match(((await invalid.json()) as { error: string }).error, /not valid JSON/);
    const foreign = await fetch(`${dashboard.url}/api/builds/${build}/cancel`, { method: 'POST', headers: { ...action, origin: 'https://evil.example' } });
    assert.equal(foreign.status, 403);
    const own = await fetch(`${dashboard.url}/api/builds/${build}/cancel`, { method: 'POST', headers: { ...action, origin: dashboard.url } });
    assert.equal(own.status, 404, 'cancelling a build that does not exist is a 404, with no log entry');
    const client = new Redis(redis.url);
    assert.deepEqual(await readBuildLog(client, DEFAULT_DASHBOARD_OPTIONS.prefix, build), []);
    client.disconnect();
    const pause = await fetch(`${dashboard.url}/queues/api/queues/pause`, { method: 'PUT' });
    assert.equal(pause.status, 405);
    const board = await fetch(`${dashboard.url}/queues`);
    assert.equal(board.status, 200);
    assert.equal(board.headers.get('x-frame-options'), 'DENY');
    assert.match(board.headers.get('content-security-policy') ?? '', /frame-ancestors 'none'/);
  } finally {
    await dashboard.close();
    await redis.stop();
  }
});

test('cancel stops every job of a build that has not started (workers fail them as they take them) and records it in the build log', async () => {
  const f = await submittedBuild(2_000, 3);
  const worker = await startWorker({ redisUrl: f.redisUrl, workerId: 'cancel-test-worker' });
  const dashboard = await startDashboard({ redisUrl: f.redisUrl, storeUrl: f.storeUrl, port: 0, logger: pino({ level: 'silent' }) });
  const buildId = f.prepared.spec.buildId;
  try {
    await trainDone(f);
    const res = await fetch(`${dashboard.url}/api/builds/${buildId}/cancel`, { method: 'POST', headers: { 'x-reindex-action': '1' } });
    assert.equal(res.status, 200, await res.clone().text());
    const out = (await res.json()) as { cancelledJobs: string[] };
    assert.deepEqual(
      out.cancelledJobs.sort(),
      [jobIdFor(buildId, 'merge'), jobIdFor(buildId, 'publish'), ...[0, 1, 2].map((i) => jobIdFor(buildId, 'shard', i))].sort(),
    );
    await f.queues.queues.shard.resume();
    // Every shard fails as the worker takes it, and with them the merge and the publish.
    await until('the cancelled shards to fail', async () => ((await f.queues.queues.shard.getJobCounts('failed')).failed === 3 ? true : undefined), 30_000);
    const view = (await (await fetch(`${dashboard.url}/api/builds/${buildId}`)).json()) as {
      build: { status: string; stages: { shard: { failed: number } } };
      log: Array<{ action: string; message: string }>;
    };
    assert.equal(view.build.status, 'cancelled');
    assert.equal(view.build.stages.shard.failed, 3);
    assert.equal(view.log[0]?.action, 'cancel');
    assert.match(view.log[0]?.message ?? '', /5 job\(s\) stopped/);
    assert.deepEqual(await f.queues.queues.shard.getJobCounts('waiting', 'active'), { waiting: 0, active: 0 });
    for (const i of [0, 1, 2])
      assert.match((await f.queues.queues.shard.getJob(jobIdFor(buildId, 'shard', i)))?.failedReason ?? '', /^cancelled by operator \(dashboard /);
    assert.equal((await f.queues.queues.shard.getJob(jobIdFor(buildId, 'shard', 0)))?.attemptsMade, 1, 'not retried');
    await until(
      'the merge to fail with its shards',
      async () => ((await f.queues.queues.merge.getJob(jobIdFor(buildId, 'merge')))?.finishedOn ? true : undefined),
      10_000,
    );
    assert.equal(await (await f.queues.queues.merge.getJob(jobIdFor(buildId, 'merge')))?.getState(), 'failed');
    // Retry is refused for a cancelled build.
    const retry = await fetch(`${dashboard.url}/api/builds/${buildId}/shards/0/retry`, { method: 'POST', headers: { 'x-reindex-action': '1' } });
    assert.equal(retry.status, 409);
    const again = await fetch(`${dashboard.url}/api/builds/${buildId}/cancel`, { method: 'POST', headers: { 'x-reindex-action': '1' } });
    assert.equal(again.status, 200, 'cancel is idempotent');
    await until(
      'the cancelled build to stay cancelled',
      async () => ((await f.queues.queues.publish.getJob(jobIdFor(buildId, 'publish')))?.finishedOn ? true : undefined),
      5_000,
    );
    // Its elapsed time stopped when it ended: two reads past the snapshot cache agree.
    const elapsed = async () =>
      ((await (await fetch(`${dashboard.url}/api/builds/${buildId}`)).json()) as { build: { elapsedSeconds: number; finishedAt: string | null } }).build;
    const first = await elapsed();
    await new Promise((r) => setTimeout(r, 1_300));
    const second = await elapsed();
    assert.ok(first.finishedAt !== null, 'a cancelled build has an end');
    assert.equal(second.elapsedSeconds, first.elapsedSeconds);
  } finally {
    await dashboard.close();
    await worker.close(true);
    await f.close();
  }
});

test('an s3:// store is opened with the configured S3 options (endpoint, credentials), as workers open it', async () => {
  const s3 = await startS3TestServer(['dash-bucket']);
  const redis = await startEmbeddedRedis();
  const storeUrl = 's3://dash-bucket/reindex';
  const store = openObjectStore(storeUrl, { s3: s3.s3Options });
  await store.put('indexes/shop/LATEST', Buffer.from('{}'));
  const dashboard = await startDashboard({ redisUrl: redis.url, port: 0, storeUrl, s3: s3.s3Options, logger: pino({ level: 'silent' }) });
  try {
    const { indexes } = (await (await fetch(`${dashboard.url}/api/versions`)).json()) as { indexes: Array<{ name: string }> };
    assert.deepEqual(
      indexes.map((i) => i.name),
      ['shop'],
      'the index in the S3-protocol server is listed (without the options the SDK would call AWS)',
    );
  } finally {
    await dashboard.close();
    await store.close();
    await redis.stop();
    await s3.stop();
  }
});

test('reindex-dashboard and reindex-worker refuse an empty flag value, naming the flag', async () => {
  const { spawnSync } = await import('node:child_process');
  const { fileURLToPath } = await import('node:url');
  const dashboardBin = fileURLToPath(new URL('./bin.js', import.meta.url));
  const workerBin = fileURLToPath(new URL('../../worker/dist/bin.js', import.meta.url));
  for (const [bin, args, flag] of [
    [dashboardBin, ['--store', ''], 'store'],
    [workerBin, ['--redis', 'redis://127.0.0.1:1', '--config='], 'config'],
  ] as const) {
    const run = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 20_000 });
    assert.equal(run.status, 2, run.stderr);
    assert.match(run.stderr, new RegExp(`--${flag} must not be empty`));
  }
});
