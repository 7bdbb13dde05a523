import os from 'node:os';
import assert from 'node:assert/strict';
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { pino } from 'pino';
import { latestKey } from '@reindex/core';
import { jobIdFor } from '@reindex/queue';
import { readManifest } from '@reindex/pipeline';
import { startMetricsServer, startWorker } from '@reindex/worker';
import { startDashboard } from './index.js';
import { submittedBuild, trainDone, until } from './build-fixture.test-support.js';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
// The README's screenshot is refreshed only on request (REINDEX_UPDATE_SCREENSHOT=1), so that
// a test run leaves the working tree as it found it.
const SCREENSHOT =
  process.env.REINDEX_UPDATE_SCREENSHOT === '1' ? path.join(REPO_ROOT, 'docs/dashboard.png') : path.join(os.tmpdir(), `reindex-dashboard-${process.pid}.png`);
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

test('the build page follows a running build, shows a shard that failed for good, and its retry button completes the build', { timeout: 240_000 }, async () => {
  const f = await submittedBuild(16_000, 4);
  const buildId = f.prepared.spec.buildId;
  const worker = await startWorker({ redisUrl: f.redisUrl, workerId: 'page-test-worker' });
  const dashboard = await startDashboard({ redisUrl: f.redisUrl, storeUrl: f.storeUrl, port: 0, logger: pino({ level: 'silent' }) });
  const workerMetrics = await startMetricsServer({ port: 0, host: '127.0.0.1' });
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
  try {
    await trainDone(f);
    // The last catalogue part changes after planning: the shards reading it fail
    // (CATALOGUE_CHANGED) at their first attempt, without retries, until the operator puts it back.
    const part = f.parts[3] as string;
    const broken = f.prepared.plan.shards.filter((s) => s.parts.some((p) => p.file.endsWith('part-3.jsonl'))).map((s) => s.index);
    assert.ok(broken.length >= 1 && broken.length < 4);
    const original = await readFile(part);
    await writeFile(part, Buffer.concat([original, Buffer.from('{"id": 99999999}\n')]));

    const page = await browser.newPage({ viewport: { width: 1360, height: 1000 } });
    const pageErrors: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(e.message));
    await page.goto(`${dashboard.url}/`);
    await page.getByTestId('build-id').filter({ hasText: buildId }).waitFor();
    await page.locator('[data-testid="build-status"] [data-state="embedding"]').waitFor();
    const progressBefore = Number(await page.getByTestId('progress').getAttribute('aria-valuenow'));
    const itemsBefore = await page.getByTestId('items').textContent();
    assert.equal(itemsBefore, '0');
    await page.locator('[data-worker="page-test-worker"]').waitFor(); // the live worker, from its heartbeat
    assert.match((await page.locator('[data-worker="page-test-worker"]').textContent()) ?? '', /cpu/);

    await f.queues.queues.shard.resume();
    // Progress moves on the page without a reload.
    await until('the progress bar to move', async () =>
      Number(await page.getByTestId('progress').getAttribute('aria-valuenow')) > progressBefore ? true : undefined,
    );
    await until('the item count to move', async () => ((await page.getByTestId('items').textContent()) !== '0' ? true : undefined));

    // Those shards fail for good at once (retrying cannot fix a changed file); the build shows as failed, naming one.
    for (const shard of broken) {
      const failedRow = page.locator(`[data-shard="${shard}"][data-state="failed"]`);
      await failedRow.waitFor({ timeout: 120_000 });
      assert.match((await failedRow.textContent()) ?? '', /part-3\.jsonl is \d+ bytes but the shard plan was made for \d+/);
    }
    await page.locator('[data-testid="build-status"] [data-state="failed"]').waitFor();
    assert.match((await page.getByTestId('failure').textContent()) ?? '', new RegExp(`shard (${broken.join('|')}) failed after 1 attempt: .*not retried`));
    await until('the other shards to complete', async () =>
      (await page.locator('[data-shard][data-state="completed"]').count()) === 4 - broken.length ? true : undefined,
    );

    // The operator fixes the input and presses Retry on each failed shard: merge and publish follow.
    await writeFile(part, original);
    for (const shard of broken) await page.getByTestId(`retry-shard-${shard}`).click();
    await page.locator('[data-testid="build-status"] [data-state="published"]').waitFor({ timeout: 120_000 });
    for (const shard of broken)
      assert.match((await page.getByTestId('log').textContent()) ?? '', new RegExp(`retry shard ${shard} .* after 1 failed attempt:`));
    await page.locator(`[data-version="${f.prepared.spec.version}"]`).filter({ hasText: 'LATEST' }).waitFor({ timeout: 30_000 });
    assert.equal(Number(await page.getByTestId('progress').getAttribute('aria-valuenow')), 100);
    assert.deepEqual(pageErrors, []);

    await mkdir(path.dirname(SCREENSHOT), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    assert.ok((await stat(SCREENSHOT)).size < 400_000, 'a commit-sized screenshot');
    if (!SCREENSHOT.startsWith(REPO_ROOT)) await rm(SCREENSHOT, { force: true });

    // The published version holds every item of all four parts exactly once.
    const latest = JSON.parse((await f.store.get(latestKey('catalogue'))).toString('utf8')) as { version: string };
    const manifest = await readManifest(f.store, 'catalogue', latest.version);
    assert.equal(manifest.buildId, buildId);
    assert.equal(manifest.ntotal + manifest.catalogue.rejected, 16_000);
    // The versions table shows the quality stage's recall@10 for the published version.
    const recall = (manifest.quality as { recallAt10?: number }).recallAt10;
    assert.equal(typeof recall, 'number');
    assert.match((await page.locator(`[data-version="${latest.version}"]`).textContent()) ?? '', new RegExp(recall!.toFixed(3).replace('.', '\\.')));
    for (const shard of broken) assert.equal(await (await f.queues.queues.shard.getJob(jobIdFor(buildId, 'shard', shard)))?.getState(), 'completed');

    // Metrics: the dashboard's (with this process's workers merged in) and a worker metrics server.
    const text = await (await fetch(`${dashboard.url}/metrics`)).text();
    const sum = (name: string, filter = '') =>
      text
        .split('\n')
        .filter((l) => l.startsWith(name) && l.includes(filter))
        .reduce((s, l) => s + Number(l.split(' ').at(-1)), 0);
    // Vectors are counted from completed shards (exact); items as embedded, failed attempts included.
    assert.equal(sum('reindex_vectors_added_total{'), manifest.ntotal);
    assert.ok(sum('reindex_items_embedded_total{') >= manifest.ntotal);
    assert.ok(sum('reindex_items_rejected_total{') >= manifest.catalogue.rejected);
    assert.equal(sum('reindex_items_featurized_total{'), sum('reindex_items_embedded_total{') + sum('reindex_items_rejected_total{'));
    assert.equal(sum('reindex_job_retries_total{', 'stage="shard"'), 0, 'a changed catalogue file is not retried');
    assert.equal(sum('reindex_jobs_failed_total{', 'stage="shard"'), broken.length);
    assert.equal(sum('reindex_jobs_completed_total{', 'stage="shard"'), 4);
    // Retry resumed the build: the shards that had finished were reused, not redone.
    assert.equal(sum('reindex_shards_reused_total'), 4 - broken.length);
    assert.equal(sum('reindex_dashboard_actions_total{', 'action="retry",outcome="ok"'), broken.length);
    assert.ok(sum('reindex_bytes_uploaded_total{', 'stage="merge"') > 0);
    assert.equal(sum('reindex_queue_jobs{', 'queue="reindex-publish",state="completed"'), 1);
    assert.match(text, /reindex_job_duration_seconds_bucket\{.*stage="shard",outcome="failed"/);
    assert.match(text, /reindex_stage_duration_seconds_count\{step="embed"\} 4/);
    assert.equal((await fetch(`${workerMetrics.url}/healthz`)).status, 200);
    assert.match(await (await fetch(`${workerMetrics.url}/metrics`)).text(), /reindex_worker_slots\{worker="page-test-worker"\} 1/);
    await until('nothing left running', async () => ((await f.queues.queues.shard.getActiveCount()) === 0 ? true : undefined), 10_000);
  } finally {
    await browser.close();
    await workerMetrics.close();
    await dashboard.close();
    await worker.close(true);
    await f.close();
  }
});
