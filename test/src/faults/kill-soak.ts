/**
 * `pnpm run test:faults`: builds under a worker killed every 15–30 s (issue #12's goal), against
 * real worker processes (SIGKILL, then a replacement), a real redis-server and a file store.
 * Every build must publish exactly once, with every item exactly once. Minutes long, so not in
 * the default suite; CI can run it nightly. Options (env): FAULT_BUILDS (default 5),
 * FAULT_ITEMS (default 300000), FAULT_WORKERS (default 3), FAULT_KILL_MIN_S / FAULT_KILL_MAX_S
 * (default 15 / 30).
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { prepareBuild, submitBuild, waitForBuild } from '@reindex/coordinator';
import { writeCatalogue } from '@reindex/sample-catalogue';
import { allIds, compareIds, configFor, defer, expectedCatalogue, openQueues, openStore, privateRedis, readPublished, tempDir } from '../harness.js';

const WORKER_SCRIPT = fileURLToPath(new URL('../fixtures/worker-process.js', import.meta.url));
const env = (name: string, fallback: number) => (process.env[name] ? Number(process.env[name]) : fallback);
const BUILDS = env('FAULT_BUILDS', 5);
const ITEMS = env('FAULT_ITEMS', 300_000);
const WORKERS = env('FAULT_WORKERS', 3);
const KILL_MIN_MS = env('FAULT_KILL_MIN_S', 15) * 1000;
const KILL_MAX_MS = env('FAULT_KILL_MAX_S', 30) * 1000;

test(`${BUILDS} builds of ${ITEMS} items, a worker SIGKILLed every ${KILL_MIN_MS / 1000}–${KILL_MAX_MS / 1000} s: each publishes once with every item once`, {
  timeout: 60 * 60_000,
}, async (t) => {
  const dir = await tempDir(t, 'faults');
  const redis = await privateRedis(t);
  const catalogue = path.join(dir, 'catalogue.jsonl');
  await writeCatalogue(catalogue, { items: ITEMS, format: 'jsonl' });
  const storeUrl = `file://${path.join(dir, 'store')}`;
  const store = openStore(t, storeUrl);
  const queues = openQueues(t, redis.url);

  let started = 0;
  const workers = new Set<ChildProcess>();
  const startOne = () => {
    const child = spawn(process.execPath, [WORKER_SCRIPT, redis.url, `soak-${process.pid}-${started++}`], { stdio: ['ignore', 'ignore', 'ignore'] });
    workers.add(child);
    child.once('exit', () => workers.delete(child));
  };
  for (let i = 0; i < WORKERS; i++) startOne();
  let kills = 0;
  let stopping = false;
  const killer = (async () => {
    while (!stopping) {
      await new Promise((r) => setTimeout(r, KILL_MIN_MS + Math.random() * (KILL_MAX_MS - KILL_MIN_MS)));
      if (stopping) break;
      const victims = [...workers];
      const victim = victims[Math.floor(Math.random() * victims.length)];
      if (!victim) continue;
      victim.kill('SIGKILL');
      kills++;
      startOne();
    }
  })();
  defer(t, async () => {
    stopping = true;
    for (const w of workers) w.kill('SIGKILL');
    await killer;
  });

  const expected = expectedCatalogue(ITEMS);
  const results: Array<{ version: string; seconds: number; kills: number }> = [];
  for (let b = 0; b < BUILDS; b++) {
    const t0 = Date.now();
    const killsBefore = kills;
    // Versions are named by the second a build starts: a second apart at least.
    const prepared = await prepareBuild(await configFor({ catalogueUrl: catalogue, storeUrl, shardCount: 8 }), new Date(Date.now() + b * 1000));
    await submitBuild(queues, store, prepared);
    const result = await waitForBuild(queues, prepared.spec.buildId, 8, undefined, 500, { store });
    assert.equal(result.version, prepared.spec.version);
    assert.equal(result.items, expected.accepted.length, `build ${b}: every accepted item`);
    const published = await readPublished(t, store);
    assert.equal(published.latest.version, prepared.spec.version, `build ${b} is LATEST`);
    assert.deepEqual(
      compareIds(await allIds(published.index), expected.accepted.map(BigInt)),
      { duplicates: [], missing: [], extra: [] },
      `build ${b}: every id exactly once`,
    );
    results.push({ version: result.version, seconds: (Date.now() - t0) / 1000, kills: kills - killsBefore });
  }
  t.diagnostic(`builds: ${JSON.stringify(results)}; worker processes killed: ${kills}, started: ${started}`);
});
