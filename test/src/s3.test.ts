import assert from 'node:assert/strict';
import net from 'node:net';
import path from 'node:path';
import { test } from 'node:test';
import { readdir, rm } from 'node:fs/promises';
import { BuildFailedError, prepareBuild, submitBuild, waitForBuild } from '@reindex/coordinator';
import { buildReferenceBundle, loadBundle } from '@reindex/item-tower';
import { ObjectStoreError } from '@reindex/core';
import { startS3FaultProxy, startS3TestServer } from '@reindex/core/testing';
import { writeCatalogue } from '@reindex/sample-catalogue';
import {
  allIds,
  assertFilesMatch,
  compareIds,
  configFor,
  defer,
  expectedCatalogue,
  openQueues,
  openStore,
  privateRedis,
  readPublished,
  runBuild,
  startWorkers,
  tempDir,
} from './harness.js';

const BUCKET = 'reindex-e2e';

test('a build with its catalogue and its store on an S3-protocol server publishes there', async (t) => {
  const dir = await tempDir(t);
  const s3 = await startS3TestServer([BUCKET]);
  defer(t, () => s3.stop());
  const redis = await privateRedis(t);
  const items = 3000;
  const local = path.join(dir, 'catalogue.jsonl');
  await writeCatalogue(local, { items, format: 'jsonl' });
  const bucket = openStore(t, `s3://${BUCKET}`, s3.s3Options);
  await bucket.putFile('input/catalogue.jsonl', local);

  const storeUrl = `s3://${BUCKET}/reindex`;
  const { prepared, result } = await runBuild(t, redis.url, {
    catalogueUrl: `s3://${BUCKET}/input/catalogue.jsonl`,
    storeUrl,
    shardCount: 3,
    s3: s3.s3Options,
  });
  const store = openStore(t, storeUrl, s3.s3Options);
  const published = await readPublished(t, store);
  assert.equal(published.manifest.buildId, prepared.spec.buildId);
  assert.equal(published.manifest.catalogue.source, `s3://${BUCKET}/input/catalogue.jsonl`);
  assert.deepEqual(assertFilesMatch(published), []);
  const expected = expectedCatalogue(items);
  assert.equal(result.items, expected.accepted.length);
  assert.deepEqual(compareIds(await allIds(published.index), expected.accepted.map(BigInt)), { duplicates: [], missing: [], extra: [] });
  // Everything lives under the store's prefix in the bucket.
  const keys = await bucket.list('');
  assert.ok(keys.includes(`reindex/indexes/catalogue/LATEST`), `LATEST in ${keys.join(', ')}`);
  assert.ok(keys.includes(`reindex/builds/${prepared.spec.buildId}/build.json`));
});

test('a model bundle that lives only in the S3 store is fetched by the coordinator and every worker', async (t) => {
  const dir = await tempDir(t);
  const s3 = await startS3TestServer([BUCKET]);
  defer(t, () => s3.stop());
  const redis = await privateRedis(t);
  const bucket = openStore(t, `s3://${BUCKET}`, s3.s3Options);
  // A small bundle, uploaded, then removed locally: nothing on this machine holds it.
  const modelLocal = path.join(dir, 'model');
  await buildReferenceBundle(modelLocal, {
    dim: 32,
    titleEmbeddingDim: 32,
    fieldEmbeddingDim: 8,
    hiddenDim: 64,
    titleBuckets: 4096,
    categoryBuckets: 1024,
    brandBuckets: 1024,
    shopBuckets: 1024,
  });
  const original = await loadBundle(modelLocal);
  for (const file of await readdir(modelLocal)) await bucket.putFile(`models/small/${file}`, path.join(modelLocal, file));
  await rm(modelLocal, { recursive: true });
  const catalogue = path.join(dir, 'catalogue.jsonl');
  const items = 2000;
  await writeCatalogue(catalogue, { items, format: 'jsonl' });

  const modelUrl = `s3://${BUCKET}/models/small`;
  const storeUrl = `s3://${BUCKET}/reindex`;
  const { prepared, result } = await runBuild(t, redis.url, { catalogueUrl: catalogue, storeUrl, shardCount: 2, s3: s3.s3Options, modelDir: modelUrl });
  assert.equal(prepared.spec.model.dir, modelUrl, 'the build records the URL, for the workers to fetch');
  assert.equal(prepared.spec.model.contentHash, original.contentHash);
  assert.equal(prepared.spec.model.dim, 32);
  const published = await readPublished(t, openStore(t, storeUrl, s3.s3Options));
  assert.equal(published.manifest.modelBundleHash, original.contentHash);
  assert.equal(result.items, expectedCatalogue(items).accepted.length);

  // The bundle changes in the bucket after the next build is planned: a worker that has not
  // cached it (the ones above hold the planned bytes, which is right) refuses it at once.
  const redis2 = await privateRedis(t);
  const next = await prepareBuild(
    await configFor({ catalogueUrl: catalogue, storeUrl, shardCount: 2, s3: s3.s3Options, modelDir: modelUrl }),
    new Date(Date.now() + 2000),
  );
  const manifest = await bucket.get('models/small/bundle.json');
  await bucket.put('models/small/bundle.json', Buffer.concat([manifest, Buffer.from('\n')]));
  const queues = openQueues(t, redis2.url);
  await submitBuild(queues, openStore(t, storeUrl, s3.s3Options), next);
  await startWorkers(t, redis2.url, 1, { s3: s3.s3Options });
  await assert.rejects(
    waitForBuild(queues, next.spec.buildId, 2, undefined, 100),
    (e: Error) =>
      e instanceof BuildFailedError &&
      /train failed after 1 attempt: model bundle s3:\/\/.*models\/small .*the model changed after planning .*not retried/.test(e.message),
  );
});

async function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

test('an unreachable S3 endpoint for the store fails the submission with the endpoint named, before any job', async (t) => {
  const dir = await tempDir(t);
  const redis = await privateRedis(t);
  const catalogue = path.join(dir, 'catalogue.jsonl');
  await writeCatalogue(catalogue, { items: 500, format: 'jsonl' });
  const endpoint = `http://127.0.0.1:${await closedPort()}`;
  const s3 = { endpoint, forcePathStyle: true, region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'y' }, maxAttempts: 1 };
  const prepared = await prepareBuild(await configFor({ catalogueUrl: catalogue, storeUrl: `s3://${BUCKET}/reindex`, shardCount: 2, s3 }));
  const store = openStore(t, prepared.spec.storeUrl, s3);
  const queues = openQueues(t, redis.url);
  await assert.rejects(submitBuild(queues, store, prepared), (error: Error) => {
    assert.ok(error instanceof ObjectStoreError, `${error.name}: ${error.message}`);
    assert.equal(error.code, 'ENDPOINT_UNREACHABLE');
    assert.ok(error.message.includes(endpoint), error.message);
    return true;
  });
  const counts = await queues.queues.train.getJobCounts();
  assert.equal(
    Object.values(counts).reduce((a, b) => a + b, 0),
    0,
    'no job was enqueued',
  );
});

test('behind a store that throttles, errors, resets (before and after acting), cuts and stalls bodies on 40% of requests, a build publishes every item once and every file verifies', async (t) => {
  const dir = await tempDir(t);
  const s3 = await startS3TestServer([BUCKET]);
  defer(t, () => s3.stop());
  const proxy = await startS3FaultProxy(
    s3.endpoint,
    { slowDown: 0.1, internalError: 0.1, resetBefore: 0.05, resetAfter: 0.05, truncatedBody: 0.05, slowBody: 0.05 },
    7,
  );
  defer(t, () => proxy.stop());
  const faulty = { ...s3.s3Options, endpoint: proxy.endpoint };
  const redis = await privateRedis(t);
  const items = 3000;
  const local = path.join(dir, 'catalogue.jsonl');
  await writeCatalogue(local, { items, format: 'jsonl' });
  const storeUrl = `s3://${BUCKET}/faulty`;
  const { prepared, result } = await runBuild(t, redis.url, { catalogueUrl: local, storeUrl, shardCount: 3, s3: faulty });
  for (const kind of ['slowDown', 'internalError', 'resetBefore', 'resetAfter', 'truncatedBody', 'slowBody'] as const) {
    assert.ok(proxy.counts[kind] > 0, `${kind} faults were injected: ${JSON.stringify(proxy.counts)}`);
  }
  // Read back around the proxy: what the serving fleet would download.
  const store = openStore(t, storeUrl, s3.s3Options);
  const published = await readPublished(t, store);
  assert.equal(published.manifest.buildId, prepared.spec.buildId);
  assert.deepEqual(assertFilesMatch(published), []);
  const expected = expectedCatalogue(items);
  assert.equal(result.items, expected.accepted.length);
  assert.deepEqual(compareIds(await allIds(published.index), expected.accepted.map(BigInt)), { duplicates: [], missing: [], extra: [] });
  t.diagnostic(`requests through the proxy: ${JSON.stringify(proxy.counts)}`);
});
