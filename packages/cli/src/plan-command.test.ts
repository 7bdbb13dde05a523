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
    await assert.rejects(run(['plan']), (e: { stderr: string }) => /--items is required/.test(e.stderr));
    await assert.rejects(run(['plan', '--items=-5']), (e: { stderr: string }) => /--items must be a positive integer, got "-5"/.test(e.stderr));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
