import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cp, mkdir, stat, truncate } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { FaissError, FaissIndex, mergeOnDisk } from './index.js';
import { clusteredVectors, sparseIds, withTempDir } from './fixtures.test-support.js';

const dim = 32;
const shards = 4;
const perShard = 3_000;

/** One trained empty index, then one clone per shard filled with that shard's vectors. */
async function shardedBuild() {
  const x = clusteredVectors(shards * perShard, dim, 11);
  const ids = sparseIds(shards * perShard);
  const trained = FaissIndex.fromFactory(dim, 'IVF32,PQ8', 'ip');
  await trained.train(x);
  const parts: FaissIndex[] = [];
  for (let s = 0; s < shards; s++) {
    const part = await trained.clone();
    await part.addWithIds(x.subarray(s * perShard * dim, (s + 1) * perShard * dim), ids.subarray(s * perShard, (s + 1) * perShard));
    parts.push(part);
  }
  const whole = await trained.clone();
  await whole.addWithIds(x, ids);
  return { x, ids, trained, parts, whole };
}

/** Writes the trained index and the parts as files, as a build's merge stage finds them. */
async function writeBuild(dir: string, trained: FaissIndex, parts: FaissIndex[]) {
  const trainedPath = path.join(dir, 'trained.index');
  await trained.write(trainedPath);
  const partPaths = await Promise.all(
    parts.map(async (p, i) => {
      const file = path.join(dir, `shard-${i}.index`);
      await p.write(file);
      return file;
    }),
  );
  return { trainedPath, partPaths };
}

/** The set of ids an index holds, found by searching every vector with every list probed. */
async function sameResults(a: FaissIndex, b: FaissIndex, queries: Float32Array) {
  const ra = await a.search(queries, 10, { nprobe: 32 });
  const rb = await b.search(queries, 10, { nprobe: 32 });
  assert.deepEqual(rb.distances, ra.distances);
  // Equal distances may come back in either order; compare rows as sets.
  for (let q = 0; q < queries.length / dim; q++) {
    assert.deepEqual(new Set(rb.labels.subarray(q * 10, q * 10 + 10)), new Set(ra.labels.subarray(q * 10, q * 10 + 10)));
  }
}

test('clones of one trained index merge in memory into the index a single add builds', async () => {
  const { x, parts, whole } = await shardedBuild();
  const [first, ...rest] = parts;
  assert.ok(first);
  for (const part of rest) {
    await first.mergeFrom(part);
    assert.equal(part.ntotal, 0, 'faiss moves the entries out of the merged part');
  }
  assert.equal(first.ntotal, shards * perShard);
  await sameResults(whole, first, x.subarray(0, 300 * dim));
});

test('on-disk merge keeps every id, memory-maps the parts, and reads back from a moved directory', async () => {
  await withTempDir(async (dir) => {
    const { x, ids, trained, parts, whole } = await shardedBuild();
    const { trainedPath, partPaths } = await writeBuild(dir, trained, parts);
    const outIndexPath = path.join(dir, 'build', 'merged.index');
    const dataPath = path.join(dir, 'build', 'merged.ivfdata');
    await mkdir(path.dirname(outIndexPath));
    const result = await mergeOnDisk({ trainedIndexPath: trainedPath, parts: partPaths, outIndexPath, dataPath });
    assert.equal(result.ntotal, shards * perShard);
    assert.equal(result.dataBytes, (await stat(dataPath)).size);
    assert.equal(result.dataBytes, shards * perShard * (8 + 8), '8-byte codes + 8-byte ids per vector');

    // Publishing copies the pair elsewhere; the index finds its data file beside it.
    const published = path.join(dir, 'published');
    await cp(path.dirname(outIndexPath), published, { recursive: true });
    const merged = await FaissIndex.read(path.join(published, 'merged.index'));
    assert.equal(merged.ntotal, shards * perShard);
    assert.equal(merged.describe().onDiskDataFile, path.join(published, 'merged.ivfdata'));
    await sameResults(whole, merged, x.subarray(0, 300 * dim));

    // Every id is present exactly once: its own vector, with all lists probed, finds it.
    const ivfFlat = FaissIndex.fromFactory(dim, 'IVF32,Flat', 'ip');
    await ivfFlat.train(x);
    await ivfFlat.write(trainedPath);
    const flatParts = await Promise.all(
      partPaths.map(async (file, s) => {
        const part = await ivfFlat.clone();
        await part.addWithIds(x.subarray(s * perShard * dim, (s + 1) * perShard * dim), ids.subarray(s * perShard, (s + 1) * perShard));
        await part.write(file);
      }),
    );
    assert.equal(flatParts.length, shards);
    await mergeOnDisk({ trainedIndexPath: trainedPath, parts: partPaths, outIndexPath, dataPath });
    const exact = await FaissIndex.read(outIndexPath);
    const all = await exact.search(x.subarray(0, 50 * dim), shards * perShard, { nprobe: 32 });
    const every = new Set(all.labels.subarray(0, shards * perShard));
    assert.equal(every.size, ids.length, 'a full search returns each id exactly once');
    for (const id of ids) assert.ok(every.has(id));
  });
});

test('an on-disk merge onto a full disk fails with ENOSPC, and a truncated data file is refused at read: clean errors, no SIGBUS', async (t) => {
  await withTempDir(async (dir) => {
    const { trained, parts } = await shardedBuild();
    const { trainedPath, partPaths } = await writeBuild(dir, trained, parts);
    // Truncated data file: merge for real, then cut the data file short.
    const outIndexPath = path.join(dir, 'merged.index');
    const dataPath = path.join(dir, 'merged.ivfdata');
    const { dataBytes } = await mergeOnDisk({ trainedIndexPath: trainedPath, parts: partPaths, outIndexPath, dataPath });
    await truncate(dataPath, Math.floor(dataBytes / 2));
    for (const mmap of [false, true]) {
      await assert.rejects(
        FaissIndex.read(outIndexPath, { mmap }),
        (e: unknown) => e instanceof FaissError && /merged\.ivfdata has \d+ bytes, its index .* needs \d+: the file is truncated/.test(e.message),
        `mmap ${mmap}`,
      );
    }

    // A disk too small for the merged lists (a 64 KiB tmpfs: the data takes 192 KB).
    const small = path.join(dir, 'small-disk');
    await mkdir(small);
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', small], { stdio: 'ignore' });
    } catch {
      t.diagnostic('cannot mount a tmpfs here (not root, or no CAP_SYS_ADMIN): the disk-full half is skipped');
      return;
    }
    try {
      await assert.rejects(
        mergeOnDisk({
          trainedIndexPath: trainedPath,
          parts: partPaths,
          outIndexPath: path.join(small, 'merged.index'),
          dataPath: path.join(small, 'merged.ivfdata'),
        }),
        (e: unknown) =>
          e instanceof FaissError && e.code === 'NO_SPACE' && /cannot reserve \d+ bytes for .*merged\.ivfdata: No space left on device/.test(e.message),
      );
      // faiss's own writer on the full disk: the native side reads errno, the code says so.
      const big = FaissIndex.fromFactory(16, 'IDMap,Flat', 'l2');
      await big.addWithIds(
        new Float32Array(16 * 4096),
        BigInt64Array.from({ length: 4096 }, (_, i) => BigInt(i)),
      );
      await assert.rejects(big.write(path.join(small, 'flat.index')), (e: unknown) => e instanceof FaissError && e.code === 'NO_SPACE');
      await big.close();
    } finally {
      execFileSync('umount', [small]);
    }
  });
});
