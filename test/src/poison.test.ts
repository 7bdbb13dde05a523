import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { BuildFailedError, prepareBuild, submitBuild, waitForBuild } from '@reindex/coordinator';
import { writeCatalogue } from '@reindex/sample-catalogue';
import { REPO_ROOT, configFor, defer, openQueues, openStore, privateRedis, tempDir, until } from './harness.js';

const WORKER_BIN = path.join(REPO_ROOT, 'packages/worker/dist/bin.js');

/** A real `reindex-worker` process; resolves once it logs that it waits for jobs. */
async function startWorkerProcess(t: TestContext, redisUrl: string): Promise<{ child: ChildProcess; log: () => string }> {
  const child = spawn(
    process.execPath,
    [WORKER_BIN, '--redis', redisUrl, '--metrics-port', '0', '--lock-duration-ms', '5000', '--stalled-interval-ms', '1000'],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr!.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  defer(t, async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await once(child, 'exit');
    }
  });
  await until(
    'the worker process to wait for jobs',
    async () => {
      if (child.exitCode !== null) throw new Error(`reindex-worker exited with ${child.exitCode}: ${output}`);
      return output.includes('waiting for jobs') ? true : undefined;
    },
    30_000,
  );
  return { child, log: () => output };
}

test('a poison job (an index faiss cannot add to) fails once, permanently, and every worker process survives to run the next build', async (t) => {
  const dir = await tempDir(t);
  const redis = await privateRedis(t);
  const catalogue = path.join(dir, 'catalogue.jsonl');
  await writeCatalogue(catalogue, { items: 3000, format: 'jsonl' });
  const storeUrl = `file://${path.join(dir, 'store')}`;
  const config = await configFor({ catalogueUrl: catalogue, storeUrl, shardCount: 3 });
  const workers = [await startWorkerProcess(t, redis.url), await startWorkerProcess(t, redis.url)];
  const queues = openQueues(t, redis.url);
  const store = openStore(t, storeUrl);

  // Planning refuses a Flat index; a job payload can still name one (an older coordinator, a
  // hand-made job), and that is the poison: faiss's IndexFlat has no add_with_ids.
  await assert.rejects(prepareBuild({ ...config, index: { ...config.index, factory: 'Flat' } }), /INDEX_FACTORY_UNSUPPORTED|builds IVF indexes/);
  const poison = await prepareBuild(config);
  poison.spec.index = { ...poison.spec.index, factory: 'Flat' };
  await submitBuild(queues, store, poison);
  await assert.rejects(waitForBuild(queues, poison.spec.buildId, 3, undefined, 200), (error: Error) => {
    assert.ok(error instanceof BuildFailedError, `${error.name}: ${error.message}`);
    assert.match(error.message, /add_with_ids/);
    assert.match(error.message, /failed after 1 attempt: .*not retried/, 'a deterministic faiss failure is not retried');
    return true;
  });
  for (const { child, log } of workers) {
    assert.equal(child.exitCode, null, `worker process survived the poison job: ${log().slice(-2000)}`);
    assert.doesNotMatch(log(), /unhandled rejection/, 'the failed add was handled by the shard processor');
  }

  // The same two processes build the next night's catalogue.
  const good = await prepareBuild(config, new Date(Date.now() + 2000));
  await submitBuild(queues, store, good);
  const result = await waitForBuild(queues, good.spec.buildId, 3, undefined, 200);
  assert.equal(result.version, good.spec.version);
  for (const { child } of workers) assert.equal(child.exitCode, null);
});
