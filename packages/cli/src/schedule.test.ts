import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { BuildLock, BuildLockedError } from '@reindex/coordinator';
import { startEmbeddedRedis } from '@reindex/queue';
import { writeCatalogue } from '@reindex/sample-catalogue';
import { buildReferenceBundle } from '@reindex/item-tower';
import { startSchedule } from './schedule.js';

const silent = { log: () => undefined, update: () => undefined, clear: () => undefined } as never;

test('the build lock admits one holder per index name and expires when its holder stops renewing', async () => {
  const redis = await startEmbeddedRedis();
  try {
    const first = await BuildLock.acquire(redis.url, 'catalogue', { ttlMs: 400, renew: false });
    await assert.rejects(BuildLock.acquire(redis.url, 'catalogue'), (e: Error) => e instanceof BuildLockedError && /already running/.test(e.message));
    const other = await BuildLock.acquire(redis.url, 'other-index');
    await other.release();
    // The first holder "died" (no renewal): the lock lapses and the next build proceeds.
    await new Promise((r) => setTimeout(r, 600));
    const second = await BuildLock.acquire(redis.url, 'catalogue', { ttlMs: 60_000 });
    await first.release(); // a stale holder cannot release a lock it lost
    await assert.rejects(BuildLock.acquire(redis.url, 'catalogue'), BuildLockedError);
    await second.release();
    await (await BuildLock.acquire(redis.url, 'catalogue')).release();
  } finally {
    await redis.stop();
  }
});

test('reindex --resume of the locked build takes the lock over at once; another build still waits', async () => {
  const redis = await startEmbeddedRedis();
  try {
    // A coordinator that planned build b1 and died: its lock would live for the rest of its TTL.
    const dead = await BuildLock.acquire(redis.url, 'catalogue', { ttlMs: 60_000, renew: false });
    await dead.recordBuild('b20261203T000000Z-aaaaaa');
    await assert.rejects(
      BuildLock.acquire(redis.url, 'catalogue'),
      (e: Error) =>
        e instanceof BuildLockedError && /for build b20261203T000000Z-aaaaaa/.test(e.message) && /reindex --resume b20261203T000000Z-aaaaaa/.test(e.message),
    );
    await assert.rejects(
      BuildLock.acquire(redis.url, 'catalogue', { resumeBuildId: 'b20261203T000000Z-bbbbbb' }),
      BuildLockedError,
      'resuming another build does not take the lock',
    );
    const resumed = await BuildLock.acquire(redis.url, 'catalogue', { resumeBuildId: 'b20261203T000000Z-aaaaaa' });
    // The old holder, were it alive after all, can neither release nor rewrite the lock it lost.
    await assert.rejects(dead.recordBuild('b20261203T000000Z-cccccc'), /no longer ours/);
    await dead.release();
    await assert.rejects(BuildLock.acquire(redis.url, 'catalogue'), BuildLockedError);
    await resumed.release();
    await (await BuildLock.acquire(redis.url, 'catalogue')).release();
  } finally {
    await redis.stop();
  }
});

test('scheduled ticks run builds and skip (and count) ticks that would overlap a running build', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'reindex-schedule-'));
  const redis = await startEmbeddedRedis();
  try {
    const catalogue = path.join(dir, 'catalogue.jsonl');
    await writeCatalogue(catalogue, { items: 3000, format: 'jsonl' });
    const model = path.join(dir, 'model');
    await buildReferenceBundle(model);
    const schedule = await startSchedule(
      {
        shardCount: 2,
        workers: 1,
        catalogue,
        model,
        store: path.join(dir, 'store'),
        redis: redis.url,
        indexFactory: 'IVF16,PQ16',
        dryRun: false,
        json: true,
      },
      { cron: '* * * * * *', timeZone: 'UTC' },
      silent,
    );
    // Every second a tick: the first runs a build lasting several seconds; ticks meanwhile skip.
    const deadline = Date.now() + 90_000;
    let counts = await schedule.counts();
    while (Date.now() < deadline && (counts.ran < 1 || counts.skipped < 1)) {
      await new Promise((r) => setTimeout(r, 500));
      counts = await schedule.counts();
    }
    await schedule.close();
    assert.ok(counts.ran >= 1, `ran ${counts.ran}`);
    assert.ok(counts.skipped >= 1, `skipped ${counts.skipped}`);
    assert.equal(counts.failed, 0);
  } finally {
    await redis.stop();
    await rm(dir, { recursive: true, force: true });
  }
});
