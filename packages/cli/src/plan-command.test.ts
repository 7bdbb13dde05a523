import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const main = fileURLToPath(new URL('./main.js', import.meta.url));
const run = (args: string[]) => promisify(execFile)(process.execPath, [main, ...args], { encoding: 'utf8' });

test('reindex plan --items 1e9 plans a billion items with the default config and prints both budgets', async () => {
  const { stdout } = await run(['plan', '--items', '1e9']);
  assert.match(stdout, /^1,000,000,000 items of dim 128: IVF65536_HNSW32,PQ32$/m);
  assert.match(stdout, /^serving size: 40\.05 GB \(40 bytes per vector; index\.servingMemoryBytes 68\.72 GB\)$/m);
  assert.match(stdout, /^builder memory: train 4\.10 GB for a 4,000,000-vector sample \(two-level k-means\), merge on disk/m);
  const json = JSON.parse((await run(['plan', '--items', '10000000', '--json'])).stdout.trim()) as Record<string, unknown>;
  assert.equal(json.factory, 'IVF32768_HNSW32,PQ32');
  assert.equal(json.trainSampleSize, 1_638_400);
  assert.equal(json.coarseTraining, 'two-level');
});

test('reindex plan follows the config file and names what does not fit', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'reindex-plan-'));
  try {
    const config = path.join(dir, 'config.json');
    await writeFile(config, JSON.stringify({ index: { servingMemoryBytes: 1_000_000_000 } }));
    await assert.rejects(run(['plan', '--items', '1e9', '--config', config]), (e: { stderr: string; code: number }) => {
      assert.match(e.stderr, /index\.servingMemoryBytes 1000000000 is too small for 1000000000 vectors/);
      assert.notEqual(e.code, 0);
      return true;
    });
    // The fleet for a window, from a rates file as bench:scale writes it.
    const rates = path.join(dir, 'rates.json');
    await writeFile(
      rates,
      JSON.stringify({
        measured: 'a test machine',
        shardItemsPerWorkerSecond: 10_000,
        trainSecondsPerSampleVector: 60e-6,
        mergeBytesPerSecond: 25e6,
        qualitySecondsPerThousandQueries: 20,
        storeObjectsPerShard: 3,
        redisBytesPerShard: 3640,
      }),
    );
    const fleet = JSON.parse((await run(['plan', '--items', '1e9', '--hours', '4', '--rates', rates, '--json'])).stdout.trim()) as {
      capacity: { workers: number; shards: number; trainSeconds: number };
    };
    assert.equal(fleet.capacity.trainSeconds, 240);
    assert.ok(fleet.capacity.workers >= Math.ceil(1e9 / (10_000 * 4 * 3600)), `${fleet.capacity.workers} workers`);
    assert.equal(fleet.capacity.shards, Math.ceil(1e9 / (10_000 * 600)));
    const text = (await run(['plan', '--items', '1e9', '--hours', '4', '--rates', rates])).stdout;
    assert.match(text, /^fleet for 4 h, from the rates in .*rates\.json \(a test machine\):$/m);
    assert.match(text, /^ {2}shard workers {2}\d+ \(each 10,000 items\/s/m);
    await assert.rejects(run(['plan', '--items', '1e9', '--hours', 'soon']), (e: { stderr: string }) =>
      /--hours must be a positive number, got "soon"/.test(e.stderr),
    );
    await assert.rejects(run(['plan', '--items', '1e9', '--hours', '4', '--rates', path.join(dir, 'none.json')]), (e: { stderr: string }) =>
      /cannot read the measured rates/.test(e.stderr),
    );
    await assert.rejects(run(['plan']), (e: { stderr: string }) => /--items is required/.test(e.stderr));
    await assert.rejects(run(['plan', '--items=-5']), (e: { stderr: string }) => /--items must be at least 1, got -5/.test(e.stderr));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
