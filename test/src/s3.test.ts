import assert from 'node:assert/strict';
import net from 'node:net';
import path from 'node:path';
import { test } from 'node:test';
import { prepareBuild, submitBuild } from '@reindex/coordinator';
import { ObjectStoreError } from '@reindex/core';
import { startS3TestServer } from '@reindex/core/testing';
import { writeCatalogue } from '@reindex/sample-catalogue';
import {
  allIds, assertFilesMatch, compareIds, configFor, defer, expectedCatalogue, openQueues, openStore, privateRedis, readPublished, runBuild, tempDir,
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
  const { prepared, result } = await runBuild(t, redis.url, { catalogueUrl: `s3://${BUCKET}/input/catalogue.jsonl`, storeUrl, shardCount: 3, s3: s3.s3Options });
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
  assert.equal(Object.values(counts).reduce((a, b) => a + b, 0), 0, 'no job was enqueued');
});
