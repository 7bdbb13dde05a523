import assert from 'node:assert/strict';
import { test } from 'node:test';
import { QUALITY_FILES, parseTruth, recallOf, type QueryFileInfo } from '@reindex/pipeline';
import { plannedBuild, readPublished, startWorkers } from './harness.js';
import { submitBuild, waitForBuild } from '@reindex/coordinator';

test('a version publishes its held-out queries and their exact lists: recall measured again from the published files alone equals the manifest', async (t) => {
  const { redis, prepared, store, queues, buildId } = await plannedBuild(t, { items: 3000, shardCount: 3 });
  await submitBuild(queues, store, prepared);
  await startWorkers(t, redis.url, 2);
  await waitForBuild(queues, buildId, 3, undefined, 100);
  const published = await readPublished(t, store);
  const { manifest } = published;
  for (const file of Object.values(QUALITY_FILES)) assert.ok(published.files.has(file), `${file} in ${JSON.stringify(manifest.files.map((f) => f.path))}`);
  assert.equal((manifest.quality as { files?: unknown }).files, undefined, 'the files are listed once, in files');

  const info = JSON.parse(published.files.get(QUALITY_FILES.info)!.toString('utf8')) as QueryFileInfo;
  const raw = published.files.get(QUALITY_FILES.queries)!;
  assert.equal(raw.length, info.count * info.dim * 4);
  const queries = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.length));
  const truth = parseTruth(published.files.get(QUALITY_FILES.truth)!, QUALITY_FILES.truth);
  assert.equal(truth.count, info.count);
  const quality = manifest.quality as { nprobe: number; recallAt10: number; queries: number };
  assert.equal(quality.queries, info.count);

  const k = 100;
  const { labels } = await published.index.search(queries, k, { nprobe: quality.nprobe });
  const again = recallOf(labels, k, truth, manifest.metric, info.selfIds ? BigInt64Array.from(info.selfIds, BigInt) : undefined);
  assert.equal(again.recallAt10, quality.recallAt10);
});
