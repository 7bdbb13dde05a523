import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { Redis } from 'ioredis';
import { parseManifest } from '@reindex/core';
import { writeCatalogue } from '@reindex/sample-catalogue';
import { CLI, REPO_ROOT, SMALL_FACTORY, SMALL_TRAIN_SAMPLE, defer, runCli, expectedCatalogue, privateRedis, referenceModel, tempDir } from './harness.js';

/** Keys of this Redis that belong to reindex jobs (anything BullMQ wrote under the prefix). */
async function reindexKeys(t: Parameters<typeof privateRedis>[0], url: string): Promise<string[]> {
  const client = new Redis(url);
  defer(t, () => client.quit());
  return (await client.keys('reindex:*')).filter((k) => !k.endsWith(':meta'));
}

async function setup(t: Parameters<typeof privateRedis>[0], items = 1000) {
  const dir = await tempDir(t, 'cli');
  const catalogue = path.join(dir, 'catalogue.jsonl');
  await writeCatalogue(catalogue, { items, format: 'jsonl' });
  const config = path.join(dir, 'reindex.json');
  await writeFile(config, JSON.stringify({ index: { trainSampleSize: SMALL_TRAIN_SAMPLE } }));
  const store = path.join(dir, 'store');
  const common = ['--catalogue', catalogue, '--model', await referenceModel(), '--store', store, '--index-factory', SMALL_FACTORY, '--config', config];
  return { dir, catalogue, store, common };
}

test('reindex --dry-run --json prints the plan and enqueues nothing', async (t) => {
  const redis = await privateRedis(t);
  const { catalogue, store, common } = await setup(t);
  const out = await runCli([...common, '--shard-count', '3', '--redis', redis.url, '--dry-run', '--json']);
  assert.equal(out.code, 0, out.stderr);
  const plan = JSON.parse(out.stdout.trim().split('\n').at(-1)!) as {
    dryRun: boolean;
    shards: Array<{ shard: number; rows: number }>;
    items: number;
    catalogue: string;
    index: { factory: string };
  };
  assert.equal(plan.dryRun, true);
  assert.deepEqual(
    plan.shards.map((s) => s.shard),
    [0, 1, 2],
  );
  assert.equal(plan.catalogue, catalogue);
  assert.equal(plan.index.factory, SMALL_FACTORY);
  assert.ok(Math.abs(plan.items - 1000) <= 100, `estimated ${plan.items} rows for 1000`);
  assert.deepEqual(await reindexKeys(t, redis.url), [], 'no job in Redis');
  assert.deepEqual(await readdir(store).catch(() => []), [], 'nothing in the store');
});

test("after pnpm's --, a failing run with --json ends stdout with a JSON object naming the code, and exits non-zero", async (t) => {
  const redis = await privateRedis(t);
  const { dir, common } = await setup(t, 50);
  const objects = path.join(dir, 'objects.jsonl');
  await writeFile(objects, Array.from({ length: 20 }, (_, i) => JSON.stringify({ id: i, title: { en: `t${i}` } })).join('\n'));
  const out = await runCli(['--', ...common, '--catalogue', objects, '--shard-count', '2', '--redis', redis.url, '--dry-run', '--json']);
  assert.equal(out.code, 1, out.stderr);
  const failure = JSON.parse(out.stdout.trim().split('\n').at(-1)!) as { ok: boolean; code: string; message: string };
  assert.equal(failure.ok, false);
  assert.equal(failure.code, 'CATALOGUE_FIELDS_INVALID');
  assert.match(failure.message, /for field "title"/);
  const usage = await runCli(['--', 'status', '--bogus', '--json']);
  assert.equal(usage.code, 2);
  assert.equal((JSON.parse(usage.stdout.trim().split('\n').at(-1)!) as { code: string }).code, 'USAGE');
});

test('bad --shard-count values fail with the flag named and a non-zero exit, before any job', async (t) => {
  const redis = await privateRedis(t);
  const { common } = await setup(t, 50);
  for (const [value, pattern] of [
    ['0', /--shard-count must be at least 1, got 0/],
    ['abc', /--shard-count must be an integer, got "abc"/],
    ['5000', /shardCount 5000 is larger than the catalogue can be split into: .*\(--shard-count\) \[SHARD_COUNT_TOO_LARGE\]/],
  ] as const) {
    const out = await runCli([...common, '--shard-count', value, '--redis', redis.url]);
    assert.notEqual(out.code, 0, `--shard-count ${value} exits non-zero`);
    assert.match(out.stderr, pattern);
    assert.equal(out.stdout, '');
  }
  assert.deepEqual(await reindexKeys(t, redis.url), [], 'no job in Redis');
});

test('a missing catalogue fails with its path named, before any job', async (t) => {
  const redis = await privateRedis(t);
  const { dir, common } = await setup(t, 50);
  const missing = path.join(dir, 'nope', 'catalogue.jsonl');
  const args = [...common];
  args[args.indexOf('--catalogue') + 1] = missing;
  const out = await runCli([...args, '--shard-count', '2', '--redis', redis.url]);
  assert.notEqual(out.code, 0);
  assert.ok(out.stderr.includes(`catalogue not found: ${missing}`), out.stderr);
  assert.deepEqual(await reindexKeys(t, redis.url), [], 'no job in Redis');
});

test('an unreachable Redis fails with its address named instead of hanging', async (t) => {
  const { common } = await setup(t, 50);
  const port = await new Promise<number>((resolve) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port: p } = server.address() as net.AddressInfo;
      server.close(() => resolve(p));
    });
  });
  const out = await runCli([...common, '--shard-count', '2', '--redis', `redis://:hunter2@127.0.0.1:${port}`], 30_000);
  assert.notEqual(out.code, 0);
  assert.match(out.stderr, new RegExp(`cannot reach Redis at redis://\\*\\*\\*@127\\.0\\.0\\.1:${port}`));
  assert.doesNotMatch(out.stderr, /hunter2/);
});

test('reindex --json runs a build and prints one JSON summary line', async (t) => {
  const items = 2000;
  const { store, common } = await setup(t, items);
  const out = await runCli([...common, '--shard-count', '2', '--workers', '2', '--json']);
  assert.equal(out.code, 0, out.stderr);
  const last = out.stdout.trim().split('\n').at(-1)!;
  const summary = JSON.parse(last) as Record<string, unknown>;
  for (const key of ['buildId', 'version', 'manifestUrl', 'items', 'rejected', 'seconds']) assert.ok(key in summary, `${key} in ${last}`);
  const expected = expectedCatalogue(items);
  assert.equal(summary.items, expected.accepted.length);
  assert.equal(summary.rejected, expected.rejected.length);
  assert.equal(typeof summary.seconds, 'number');
  assert.equal(summary.resumed, false);
  assert.equal(summary.buildSeconds, summary.seconds);
  const stages = summary.stageSeconds as Record<string, number>;
  assert.deepEqual(Object.keys(stages).sort(), ['merge', 'plan', 'publish', 'quality', 'shards', 'train']);
  const stagesTotal = Object.values(stages).reduce((a, b) => a + b, 0);
  assert.ok(stagesTotal <= (summary.seconds as number) + 0.5, `stages ${JSON.stringify(stages)} add up to more than the run's ${String(summary.seconds)} s`);
  assert.ok(typeof summary.manifestUrl === 'string' && summary.manifestUrl.startsWith(`file://${store}/`), String(summary.manifestUrl));
  const manifest = parseManifest(await readFile(fileURLToPath(summary.manifestUrl as string)));
  assert.equal(manifest.buildId, summary.buildId);
  assert.equal(manifest.version, summary.version);
  assert.equal(manifest.ntotal, expected.accepted.length);
});

test('a coordinator killed after planning is resumed at once: reindex --resume takes over its build lock and publishes', async (t) => {
  const items = 3000;
  const { store, common } = await setup(t, items);
  const redis = await privateRedis(t);
  // workers 0 in the config file (no --workers flag: the file's value is honoured): the first
  // coordinator plans and submits, then waits for workers that never come.
  const remoteOnly = path.join(path.dirname(store), 'remote-only.json');
  await writeFile(remoteOnly, JSON.stringify({ workers: 0, index: { trainSampleSize: SMALL_TRAIN_SAMPLE } }));
  const firstArgs = [...common.slice(0, common.indexOf('--config')), '--config', remoteOnly];
  const first = spawn(process.execPath, [CLI, ...firstArgs, '--shard-count', '2', '--redis', redis.url], { stdio: ['ignore', 'pipe', 'pipe'], cwd: REPO_ROOT });
  defer(t, () => {
    if (first.exitCode === null && first.signalCode === null) first.kill('SIGKILL');
  });
  let firstErr = '';
  first.stderr.on('data', (c: Buffer) => {
    firstErr += c.toString();
  });
  const buildId = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no build id from the first coordinator: ${firstErr}`)), 60_000);
    first.stderr.on('data', () => {
      const match = /reindex: build (b\d{8}T\d{6}Z-[0-9a-f]{6})/.exec(firstErr);
      if (match && firstErr.includes('waiting for remote workers')) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    });
  });
  first.kill('SIGKILL');
  await new Promise((r) => first.once('exit', r));

  // Another build of the index is refused, naming the build and how to resume it ...
  const other = await runCli([...common, '--shard-count', '2', '--workers', '1', '--redis', redis.url]);
  assert.notEqual(other.code, 0);
  assert.match(other.stderr, new RegExp(`for build ${buildId}.*reindex --resume ${buildId}`));
  // ... and the resume takes the lock over at once (without the takeover it would be refused
  // with BUILD_LOCKED for the lock's TTL) and finishes the build.
  const resumed = await runCli(['--resume', buildId, '--redis', redis.url, '--store', store, '--workers', '2', '--json']);
  assert.equal(resumed.code, 0, resumed.stderr);
  const summary = JSON.parse(resumed.stdout.trim().split('\n').at(-1)!) as {
    buildId: string;
    items: number;
    seconds: number;
    buildSeconds: number;
    resumed: boolean;
    stageSeconds: Record<string, number>;
  };
  assert.equal(summary.buildId, buildId);
  assert.equal(summary.items, expectedCatalogue(items).accepted.length);
  // The stage times are the build's; the build began before this run (the first coordinator
  // planned it), so its wall time spans both runs and holds every stage.
  assert.equal(summary.resumed, true);
  assert.ok(summary.buildSeconds >= summary.seconds, `build ${summary.buildSeconds} s vs this run ${summary.seconds} s`);
  assert.deepEqual(Object.keys(summary.stageSeconds).sort(), ['merge', 'publish', 'quality', 'shards', 'train']);
  const stagesTotal = Object.values(summary.stageSeconds).reduce((a, b) => a + b, 0);
  assert.ok(
    stagesTotal <= summary.buildSeconds + 0.5,
    `stages ${JSON.stringify(summary.stageSeconds)} add up to more than the build's ${summary.buildSeconds} s`,
  );
});
