// Test fixture (not exported, not packed: *.test-support.* stays out of "files"): a real pipeline on a small catalogue split into JSONL parts.
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ensureReferenceModel, prepareBuild, submitBuild, type PreparedBuild } from '@reindex/coordinator';
import { loadConfig, openObjectStore, type ObjectStore } from '@reindex/core';
import { jobIdFor, startEmbeddedRedis, type EmbeddedRedis } from '@reindex/queue';
import { writeCatalogue } from '@reindex/sample-catalogue';
import { BuildQueues } from '@reindex/pipeline';

export interface Fixture {
  dir: string;
  redis: EmbeddedRedis;
  redisUrl: string;
  storeUrl: string;
  store: ObjectStore;
  catalogueDir: string;
  parts: string[];
  queues: BuildQueues;
  prepared: PreparedBuild;
  close(): Promise<void>;
}

/** A catalogue of `items` rows in `parts` JSONL files, planned as one shard per file, submitted with the shard queue paused. */
export async function submittedBuild(items: number, parts: number): Promise<Fixture> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'reindex-dashboard-test-'));
  const redis = await startEmbeddedRedis();
  const whole = path.join(dir, 'all.jsonl');
  await writeCatalogue(whole, { items, format: 'jsonl' });
  const lines = (await readFile(whole, 'utf8')).split('\n').filter(Boolean);
  const catalogueDir = path.join(dir, 'catalogue');
  await mkdir(catalogueDir);
  const partFiles: string[] = [];
  const per = Math.ceil(lines.length / parts);
  for (let i = 0; i < parts; i++) {
    const file = path.join(catalogueDir, `part-${i}.jsonl`);
    await writeFile(file, `${lines.slice(i * per, (i + 1) * per).join('\n')}\n`);
    partFiles.push(file);
  }
  await rm(whole);
  const storeUrl = `file://${path.join(dir, 'store')}`;
  const modelDir = await ensureReferenceModel();
  const config = await loadConfig(undefined, {
    shardCount: parts,
    catalogue: { url: catalogueDir },
    modelDir,
    store: { url: storeUrl },
    redisUrl: redis.url,
    workers: 1,
    name: 'catalogue',
  });
  const prepared = await prepareBuild({ ...config, catalogue: { ...config.catalogue, url: catalogueDir }, modelDir, store: { url: storeUrl } });
  const store = openObjectStore(storeUrl);
  const queues = new BuildQueues(redis.url);
  await queues.queues.shard.pause();
  await submitBuild(queues, store, prepared);
  return {
    dir,
    redis,
    redisUrl: redis.url,
    storeUrl,
    store,
    catalogueDir,
    parts: partFiles,
    queues,
    prepared,
    async close() {
      await queues.close();
      await store.close();
      await redis.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Polls until `check` returns a value (not undefined), or throws after `timeoutMs` naming `what`. */
export async function until<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 120_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

export async function trainDone(f: Fixture): Promise<void> {
  const id = jobIdFor(f.prepared.spec.buildId, 'train');
  await until('the train job and its fan-out', async () => {
    const job = await f.queues.queues.train.getJob(id);
    if ((await job?.getState()) === 'failed') throw new Error(`train failed: ${job?.failedReason}`);
    return (await f.queues.queues.publish.getJob(jobIdFor(f.prepared.spec.buildId, 'publish'))) && (await job?.getState()) === 'completed' ? true : undefined;
  });
}
