/**
 * Shared harness of the end-to-end tests: temp dirs, a private redis-server per test, the
 * reference model bundle, running a build with in-process workers, and reading back what was
 * published exactly as a serving host would (LATEST → manifest → index file).
 */
import assert from 'node:assert/strict';
import { createWriteStream } from 'node:fs';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { once } from 'node:events';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestContext } from 'node:test';
import { prepareBuild, submitBuild, waitForBuild, type PreparedBuild } from '@reindex/coordinator';
import {
  deepMerge,
  loadConfig,
  openObjectStore,
  parseIdMap,
  parseLatestPointer,
  parseManifest,
  sha256Buffer,
  type IdMapper,
  type LatestPointer,
  type Manifest,
  type ObjectStore,
  type ReindexConfig,
  type ReindexConfigInput,
  type S3Options,
} from '@reindex/core';
import { FaissIndex } from '@reindex/faiss';
import { buildReferenceBundle } from '@reindex/item-tower';
import { startEmbeddedRedis, type EmbeddedRedis } from '@reindex/queue';
import { CatalogueGenerator, REJECTED_ODDITIES, writeCatalogue } from '@reindex/sample-catalogue';
import { BuildQueues, type PublishResult } from '@reindex/pipeline';
import { startWorker, type RunningWorker, type WorkerOptions } from '@reindex/worker';

/** The repository root (test/dist/ → ../..). */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/**
 * A small IVF-PQ index for the reference model's 128-d vectors: trains in under a second on a
 * few thousand vectors (PQ32, with 4-d sub-vectors, takes ~10 s here).
 */
export const SMALL_FACTORY = 'IVF32,PQ16';
export const SMALL_TRAIN_SAMPLE = 3000;

const cleanups = new WeakMap<TestContext, Array<() => unknown>>();

/**
 * Runs `fn` after the test, in reverse order of registration (node:test runs `t.after` hooks
 * in registration order, which would stop a redis-server before the workers using it close).
 */
export function defer(t: TestContext, fn: () => unknown): void {
  let stack = cleanups.get(t);
  if (!stack) {
    const fns: Array<() => unknown> = [];
    stack = fns;
    cleanups.set(t, fns);
    t.after(async () => {
      const errors: unknown[] = [];
      while (fns.length > 0) {
        try {
          await fns.pop()!();
        } catch (error) {
          errors.push(error);
        }
      }
      if (errors.length > 0) throw new AggregateError(errors, `${errors.length} cleanup step(s) failed`);
    });
  }
  stack.push(fn);
}

/** A fresh temp directory, removed after the test. */
export async function tempDir(t: TestContext, name = 'e2e'): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), `reindex-${name}-`));
  defer(t, () => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** A private redis-server for this test only, stopped after it. */
export async function privateRedis(t: TestContext): Promise<EmbeddedRedis> {
  const redis = await startEmbeddedRedis();
  defer(t, () => redis.stop());
  return redis;
}

let modelDir: Promise<string> | undefined;
/** The reference model bundle, built once per test file into a temp dir (deterministic). */
export function referenceModel(): Promise<string> {
  modelDir ??= (async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'reindex-e2e-model-'));
    process.on('exit', () => void rm(dir, { recursive: true, force: true }));
    await buildReferenceBundle(dir);
    return dir;
  })();
  return modelDir;
}

/** Ids (item.id) of generated items the JSONL reader/featurizer must reject, by the generator's documented oddities. */
export function expectedCatalogue(items: number, options: { seed?: number } = {}): { accepted: number[]; rejected: number[] } {
  const gen = new CatalogueGenerator(options);
  const accepted: number[] = [];
  const rejected: number[] = [];
  for (let i = 0; i < items; i++) {
    const { item, oddity } = gen.item(i);
    (oddity && REJECTED_ODDITIES.includes(oddity) ? rejected : accepted).push(item.id as number);
  }
  return { accepted, rejected };
}

/** `SKU-000123` for item id 123. */
export function skuOf(id: number): string {
  return `SKU-${String(id).padStart(6, '0')}`;
}

/** Writes a generated catalogue as JSONL, each row passed through `map` first (e.g. string ids). */
export async function writeMappedJsonl(file: string, items: number, map: (row: Record<string, unknown>) => Record<string, unknown>): Promise<void> {
  const out = createWriteStream(file);
  const gen = new CatalogueGenerator();
  for (const row of gen.items(0, items)) {
    if (!out.write(`${JSON.stringify(map(row))}\n`)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
}

export interface BuildSetup {
  catalogueUrl: string;
  storeUrl: string;
  shardCount: number;
  name?: string;
  factory?: string;
  trainSampleSize?: number;
  s3?: S3Options;
  /** Model bundle: a directory or an object-store prefix; null for none (own vectors). Default: the reference bundle. */
  modelDir?: string | null;
  /** More configuration, merged over the rest (e.g. `catalogue.fields`). */
  config?: ReindexConfigInput;
}

/** The effective configuration for a test build (defaults + the test's overrides, validated). */
export async function configFor(setup: BuildSetup): Promise<ReindexConfig & { catalogue: { url: string }; modelDir?: string }> {
  const overrides: ReindexConfigInput = {
    name: setup.name ?? 'catalogue',
    shardCount: setup.shardCount,
    catalogue: { url: setup.catalogueUrl },
    store: { url: setup.storeUrl },
    index: { factory: setup.factory ?? SMALL_FACTORY, trainSampleSize: setup.trainSampleSize ?? SMALL_TRAIN_SAMPLE },
    ...(setup.modelDir === null ? {} : { modelDir: setup.modelDir ?? (await referenceModel()) }),
    ...(setup.s3 ? { s3: setup.s3 as ReindexConfigInput['s3'] } : {}),
  };
  const config = await loadConfig(undefined, deepMerge(overrides, setup.config));
  return config as ReindexConfig & { catalogue: { url: string }; modelDir?: string };
}

/** Starts `count` in-process workers, closed (forcibly) after the test. */
export async function startWorkers(t: TestContext, redisUrl: string, count: number, options: Partial<WorkerOptions> = {}): Promise<RunningWorker[]> {
  const workers: RunningWorker[] = [];
  for (let i = 0; i < count; i++) {
    const worker = await startWorker({ redisUrl, workerId: `e2e-${process.pid}-${i}`, ...options });
    workers.push(worker);
    defer(t, () => worker.close(true));
  }
  return workers;
}

/**
 * A generated JSONL catalogue of `items` rows planned into `shardCount` shards (file store, a
 * private Redis, its queues), not yet submitted: the set-up most fault and idempotency tests share.
 */
export async function plannedBuild(t: TestContext, { items, shardCount }: { items: number; shardCount: number }) {
  const dir = await tempDir(t);
  const redis = await privateRedis(t);
  const catalogue = path.join(dir, 'catalogue.jsonl');
  await writeCatalogue(catalogue, { items, format: 'jsonl' });
  const prepared = await prepareBuild(await configFor({ catalogueUrl: catalogue, storeUrl: `file://${path.join(dir, 'store')}`, shardCount }));
  const store = openStore(t, prepared.spec.storeUrl);
  const queues = openQueues(t, redis.url);
  return { dir, redis, catalogue, prepared, buildId: prepared.spec.buildId, store, queues };
}

/** Queues of a build, closed after the test. */
export function openQueues(t: TestContext, redisUrl: string): BuildQueues {
  const queues = new BuildQueues(redisUrl);
  defer(t, () => queues.close());
  return queues;
}

/** An object store closed after the test. */
export function openStore(t: TestContext, url: string, s3?: S3Options): ObjectStore {
  const store = openObjectStore(url, s3 ? { s3 } : {});
  defer(t, () => store.close());
  return store;
}

export interface FinishedBuild {
  prepared: PreparedBuild;
  result: PublishResult;
  store: ObjectStore;
  queues: BuildQueues;
}

/** Plans, submits and waits for a whole build with `workers` in-process workers. */
export async function runBuild(t: TestContext, redisUrl: string, setup: BuildSetup, workers = 2): Promise<FinishedBuild> {
  const config = await configFor(setup);
  const prepared = await prepareBuild(config);
  const store = openStore(t, prepared.spec.storeUrl, setup.s3);
  const queues = openQueues(t, redisUrl);
  await submitBuild(queues, store, prepared);
  await startWorkers(t, redisUrl, workers, setup.s3 ? { s3: setup.s3 } : {});
  const result = await waitForBuild(queues, prepared.spec.buildId, prepared.plan.shardCount, undefined, 100);
  return { prepared, result, store, queues };
}

export interface Published {
  latest: LatestPointer;
  manifest: Manifest;
  index: FaissIndex;
  idMap?: IdMapper;
  /** Bytes of every file the manifest lists, by path. */
  files: Map<string, Buffer>;
}

/** Reads the current version of `name` as a serving host would: LATEST → manifest → files. */
export async function readPublished(t: TestContext, store: ObjectStore, name = 'catalogue'): Promise<Published> {
  const latestKey = `indexes/${name}/LATEST`;
  const latest = parseLatestPointer(await store.get(latestKey), latestKey);
  const manifest = parseManifest(await store.get(latest.manifest), latest.manifest);
  const dir = await tempDir(t, 'published');
  const files = new Map<string, Buffer>();
  const versionPrefix = latest.manifest.slice(0, latest.manifest.lastIndexOf('/') + 1);
  for (const file of manifest.files) files.set(file.path, await store.get(`${versionPrefix}${file.path}`));
  const indexFile = manifest.files.find((f) => f.path.endsWith('.faiss'));
  if (!indexFile) throw new Error(`manifest ${latest.manifest} lists no .faiss file: ${JSON.stringify(manifest.files)}`);
  const local = path.join(dir, indexFile.path);
  await store.download(`${versionPrefix}${indexFile.path}`, local);
  const index = await FaissIndex.read(local);
  defer(t, () => index.close());
  const idMap = manifest.idMap ? parseIdMap(files.get(manifest.idMap)!, manifest.idMap) : undefined;
  return { latest, manifest, index, files, ...(idMap ? { idMap } : {}) };
}

/** Checks every file the manifest lists against its recorded size and sha256. */
export function assertFilesMatch(published: Published): string[] {
  const problems: string[] = [];
  for (const f of published.manifest.files) {
    const body = published.files.get(f.path);
    if (!body) problems.push(`${f.path}: missing`);
    else if (body.length !== f.bytes) problems.push(`${f.path}: ${body.length} bytes, manifest says ${f.bytes}`);
    else if (sha256Buffer(body) !== f.sha256) problems.push(`${f.path}: sha256 ${sha256Buffer(body)}, manifest says ${f.sha256}`);
  }
  return problems;
}

/**
 * Every id stored in an IVF index, with repeats: one query at nprobe = nlist and k = ntotal
 * visits every inverted list and returns every entry once.
 */
export async function allIds(index: FaissIndex): Promise<bigint[]> {
  const nlist = index.describe().nlist ?? 1;
  const query = new Float32Array(index.dim);
  query[0] = 1;
  const { labels } = await index.search(query, index.ntotal, { nprobe: nlist });
  return [...labels].filter((id) => id !== -1n);
}

/** Reads the store's LATEST version and checks it holds exactly `ids`, each once. */
export async function assertPublishedOnce(t: TestContext, store: ObjectStore, ids: readonly number[]): Promise<Published> {
  const published = await readPublished(t, store);
  assert.deepEqual(compareIds(await allIds(published.index), ids.map(BigInt)), { duplicates: [], missing: [], extra: [] });
  return published;
}

/** Ids present more than once, and expected ids absent / unexpected ids present. */
export function compareIds(actual: readonly bigint[], expected: readonly bigint[]): { duplicates: bigint[]; missing: bigint[]; extra: bigint[] } {
  const counts = new Map<bigint, number>();
  for (const id of actual) counts.set(id, (counts.get(id) ?? 0) + 1);
  const duplicates = [...counts].filter(([, n]) => n > 1).map(([id]) => id);
  const want = new Set(expected);
  const missing = expected.filter((id) => !counts.has(id));
  const extra = [...counts.keys()].filter((id) => !want.has(id));
  return { duplicates, missing, extra };
}

/** Picks `count` evenly spread elements. */
export function spread<T>(values: readonly T[], count: number): T[] {
  const step = Math.max(1, Math.floor(values.length / count));
  const out: T[] = [];
  for (let i = 0; i < values.length && out.length < count; i += step) out.push(values[i]!);
  return out;
}

/** Polls `probe` until it returns a value other than undefined, or throws after `timeoutMs`. */
export async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000, pollMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}

export const CLI = path.join(REPO_ROOT, 'packages/cli/dist/main.js');

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs the reindex CLI to completion; a CLI that hangs is killed and reported as such. */
export function runCli(args: string[], timeoutMs = 90_000): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'], cwd: REPO_ROOT });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (signal === 'SIGKILL') reject(new Error(`reindex ${args.join(' ')} did not finish within ${timeoutMs} ms; stderr:\n${stderr}`));
      else resolve({ code, signal, stdout, stderr });
    });
  });
}
