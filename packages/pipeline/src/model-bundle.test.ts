import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { buildReferenceBundle, loadBundle } from '@reindex/item-tower';
import { isBundleUrl, openModelBundle } from './model-bundle.js';

/** A small reference bundle (about 1 MB) in a directory that is also a file:// object store. */
async function smallBundle(t: { after: (fn: () => Promise<void>) => void }): Promise<{ dir: string; url: string; cacheDir: string }> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'reindex-bundle-test-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  const dir = path.join(root, 'store', 'models', 'small');
  await buildReferenceBundle(dir, {
    dim: 32,
    titleEmbeddingDim: 32,
    fieldEmbeddingDim: 8,
    hiddenDim: 64,
    titleBuckets: 2048,
    categoryBuckets: 512,
    brandBuckets: 512,
    shopBuckets: 512,
  });
  return { dir, url: pathToFileURL(dir).href, cacheDir: path.join(root, 'cache') };
}

test('isBundleUrl tells object-store prefixes from directories', () => {
  assert.equal(isBundleUrl('s3://bucket/models/v1/'), true);
  assert.equal(isBundleUrl('file:///srv/models/v1'), true);
  assert.equal(isBundleUrl('/srv/models/v1'), false);
  assert.equal(isBundleUrl('models/v1'), false);
});

test('a bundle under an object-store prefix is downloaded, hashed like the original and served from the cache', async (t) => {
  const { dir, url, cacheDir } = await smallBundle(t);
  const original = await loadBundle(dir);
  const fetched = await openModelBundle(url, { cacheDir });
  assert.equal(fetched.contentHash, original.contentHash);
  assert.notEqual(fetched.dir, original.dir);
  assert.ok(fetched.dir.startsWith(cacheDir));
  assert.equal(fetched.queryModelPath !== null, true, 'the query tower comes along');
  // With the planned hash, the cached copy serves even once the source is gone.
  await rm(dir, { recursive: true });
  const again = await openModelBundle(url, { cacheDir, expectedHash: original.contentHash });
  assert.equal(again.dir, fetched.dir);
  await assert.rejects(openModelBundle(url, { cacheDir }), (e: Error & { code?: string }) => e.code === 'BUNDLE_NOT_FOUND' && e.message.includes(url));
});

test('a bundle that differs from the planned hash fails with BUNDLE_CHANGED, local or downloaded', async (t) => {
  const { dir, url, cacheDir } = await smallBundle(t);
  const planned = (await loadBundle(dir)).contentHash;
  const manifest = path.join(dir, 'bundle.json');
  await writeFile(manifest, `${await readFile(manifest, 'utf8')}\n`);
  for (const location of [dir, url]) {
    await assert.rejects(
      openModelBundle(location, { cacheDir, expectedHash: planned }),
      (e: Error & { code?: string }) => e.code === 'BUNDLE_CHANGED' && e.message.includes(planned) && e.message.includes(location),
    );
  }
});

test('model file names in a downloaded bundle.json must be plain names', async (t) => {
  const { dir, url, cacheDir } = await smallBundle(t);
  const outside = path.join(path.dirname(dir), 'outside.onnx');
  await cp(path.join(dir, 'model.onnx'), outside);
  const manifest = JSON.parse(await readFile(path.join(dir, 'bundle.json'), 'utf8')) as { item: { model: string } };
  manifest.item.model = '../outside.onnx';
  await writeFile(path.join(dir, 'bundle.json'), JSON.stringify(manifest));
  await assert.rejects(
    openModelBundle(url, { cacheDir }),
    (e: Error & { code?: string }) => e.code === 'BUNDLE_INVALID' && /"\.\.\/outside\.onnx".*plain file name/.test(e.message),
  );
});
