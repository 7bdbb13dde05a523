import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { defaultFaissThreads, defaultIntraOpThreads, threadPoolSizeFor } from './options.js';

test('default intra-op threads leave the main thread a core and split the rest between sessions', () => {
  assert.equal(defaultIntraOpThreads('cpu', 1, 16), 15);
  assert.equal(defaultIntraOpThreads('cpu', 3, 16), 5);
  assert.equal(defaultIntraOpThreads('cpu', 1, 2), 1);
  assert.equal(defaultIntraOpThreads('cpu', 2, 2), 1, 'never below 1');
  assert.equal(defaultIntraOpThreads('cpu', 1, 1), 1);
  assert.equal(defaultIntraOpThreads('cuda', 1, 16), 0, "CUDA: onnxruntime's choice");
});

test('default faiss threads split the cores between the jobs a process runs at once', () => {
  assert.equal(defaultFaissThreads(1, 16), 16);
  assert.equal(defaultFaissThreads(2, 2), 1, 'two in-process workers on 2 cores: one thread each');
  assert.equal(defaultFaissThreads(3, 16), 5);
  assert.equal(defaultFaissThreads(4, 2), 1, 'never below 1');
  assert.equal(defaultFaissThreads(0, 8), 8);
});

test('reindex-worker rejects a bad --intra-op-threads before connecting anywhere', () => {
  const bin = fileURLToPath(new URL('./bin.js', import.meta.url));
  for (const bad of ['-1', '1.5', 'many']) {
    const r = spawnSync(process.execPath, [bin, '--redis', 'redis://127.0.0.1:1', `--intra-op-threads=${bad}`], { encoding: 'utf8' });
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, new RegExp(`--intra-op-threads must be (an integer, got "${bad}"|at least 0, got ${bad})`));
  }
});

test('reindex-worker reports an unknown or malformed option in one line', () => {
  const bin = fileURLToPath(new URL('./bin.js', import.meta.url));
  for (const args of [['--intra-op-threads', '-1'], ['--no-such-option']]) {
    const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8' });
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /^reindex-worker: .*'--(intra-op-threads|no-such-option)'/);
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  }
});

test("the libuv pool has two threads per job for faiss calls and two for I/O, never fewer than libuv's 4", () => {
  assert.equal(threadPoolSizeFor(0), 4);
  assert.equal(threadPoolSizeFor(1), 4);
  assert.equal(threadPoolSizeFor(2), 6);
  assert.equal(threadPoolSizeFor(8), 18);
});
