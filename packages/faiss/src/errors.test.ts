import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { FaissError, FaissIndex, mergeOnDisk, setThreads } from './index.js';
import { clusteredVectors, sparseIds, withTempDir } from './fixtures.test-support.js';

const dim = 16;

function isFaissError(code: FaissError['code'], message: RegExp) {
  return (e: unknown) => {
    assert.ok(e instanceof FaissError, `expected FaissError, got ${String(e)}`);
    assert.equal(e.code, code);
    assert.match(e.message, message);
    return true;
  };
}

async function trained(): Promise<FaissIndex> {
  const index = FaissIndex.fromFactory(dim, 'IVF8,PQ4', 'l2');
  await index.train(clusteredVectors(10_000, dim, 1));
  return index;
}

test('every bad argument is a FaissError naming it, and the process lives on', async () => {
  const index = await trained();
  const one = new Float32Array(dim);
  await assert.rejects(
    index.addWithIds(new Float32Array(dim + 1), new BigInt64Array(1)),
    isFaissError('INVALID_ARGUMENT', /length 17 is not a multiple of the index dimension 16/),
  );
  await assert.rejects(index.addWithIds(new Float32Array(dim * 3), new BigInt64Array(2)), isFaissError('INVALID_ARGUMENT', /3 vectors but 2 ids/));
  await assert.rejects(index.search(one, 0), isFaissError('INVALID_ARGUMENT', /k must be an integer/));
  await assert.rejects(index.search(one, 1.5), isFaissError('INVALID_ARGUMENT', /k must be an integer/));
  await assert.rejects(index.search(one, 5, { nprobe: 0 }), isFaissError('INVALID_ARGUMENT', /nprobe must be an integer/));
  await assert.rejects(index.search(new Float32Array(dim - 1), 1), isFaissError('INVALID_ARGUMENT', /queries: length 15/));
  // Wrong array types never reach faiss.
  await assert.rejects(index.search(new Float64Array(dim) as unknown as Float32Array, 1), isFaissError('INVALID_ARGUMENT', /Float32Array/));
  await assert.rejects(index.addWithIds(one, new Int32Array(1) as unknown as BigInt64Array), isFaissError('INVALID_ARGUMENT', /BigInt64Array/));
  await assert.rejects(index.train(new Float32Array(0)), isFaissError('INVALID_ARGUMENT', /at least one vector/));

  const untrained = FaissIndex.fromFactory(dim, 'IVF8,PQ4', 'l2');
  await assert.rejects(untrained.addWithIds(one, new BigInt64Array(1)), isFaissError('INVALID_ARGUMENT', /not trained/));

  assert.throws(() => FaissIndex.fromFactory(dim, 'IVF8,Bogus42', 'l2'), isFaissError('FAISS', /could not parse .*Bogus42/));
  assert.throws(() => FaissIndex.fromFactory(dim, 'IVF8,PQ5', 'l2'), isFaissError('FAISS', /multiple of the number of subquantizers/));
  assert.throws(() => FaissIndex.fromFactory(0, 'Flat', 'l2'), isFaissError('INVALID_ARGUMENT', /dim must be an integer/));
  assert.throws(() => FaissIndex.fromFactory(dim, 'Flat', 'cosine' as 'ip'), isFaissError('INVALID_ARGUMENT', /metric must be 'ip' or 'l2'/));
  assert.throws(() => setThreads(-1), isFaissError('INVALID_ARGUMENT', /threads/));

  // Still alive and working after all of the above.
  const ok = await index.search(one, 1);
  assert.equal(ok.labels.length, 1);
});

test('corrupt or truncated serialized indexes are rejected, never crash', async () => {
  const index = await trained();
  await index.addWithIds(clusteredVectors(500, dim, 2), sparseIds(500));
  const bytes = await index.toBuffer();
  await assert.rejects(FaissIndex.fromBuffer(Buffer.from('this is not a faiss index')), isFaissError('FAISS', /not recognized/));
  await assert.rejects(FaissIndex.fromBuffer(bytes.subarray(0, bytes.length - 7)), isFaissError('FAISS', /truncated|read error|failed/));
  await assert.rejects(FaissIndex.fromBuffer(Buffer.concat([bytes, Buffer.from([1, 2, 3])])), isFaissError('FAISS', /3 trailing bytes/));
  await assert.rejects(FaissIndex.fromBuffer(new Uint8Array(0)), isFaissError('INVALID_ARGUMENT', /empty/));
  // Flip bytes across the header (sizes, nlist, code size) and the body: every outcome is an
  // error or a readable index, never an abort.
  for (const at of [4, 8, 12, 20, 40, 100, bytes.length >> 1]) {
    const bad = Buffer.from(bytes);
    bad.writeUInt32LE(0xfffffff0, Math.min(at, bad.length - 4));
    await FaissIndex.fromBuffer(bad).then(
      (ix) => ix.close(),
      (e: unknown) => assert.ok(e instanceof FaissError),
    );
  }
  await withTempDir(async (dir) => {
    const file = path.join(dir, 'cut.index');
    await writeFile(file, bytes.subarray(0, 100));
    await assert.rejects(FaissIndex.read(file), FaissError);
    await assert.rejects(FaissIndex.read(path.join(dir, 'missing.index')), isFaissError('FAISS', /does not exist/));
  });
});

test('merging the wrong kinds of index is an error', async () => {
  const ivf = await trained();
  const flat = FaissIndex.fromFactory(dim, 'Flat', 'l2');
  await assert.rejects(ivf.mergeFrom(flat), isFaissError('INVALID_ARGUMENT', /only IVF indexes can be merged/));
  await assert.rejects(flat.mergeFrom(ivf), isFaissError('INVALID_ARGUMENT', /only IVF indexes can be merged/));
  await assert.rejects(ivf.mergeFrom(ivf), /cannot merge an index into itself/);
  const other = FaissIndex.fromFactory(dim, 'IVF16,PQ4', 'l2');
  await other.train(clusteredVectors(10_000, dim, 9));
  await assert.rejects(ivf.mergeFrom(other), FaissError);
  await assert.rejects(ivf.mergeFrom({} as FaissIndex), FaissError);
  await withTempDir(async (dir) => {
    await flat.write(path.join(dir, 'flat.index'));
    await ivf.write(path.join(dir, 'ivf.index'));
    await other.write(path.join(dir, 'other.index'));
    const merge = (trainedIndexPath: string, parts: string[]) =>
      mergeOnDisk({ trainedIndexPath, parts, outIndexPath: path.join(dir, 'out.index'), dataPath: path.join(dir, 'out.ivfdata') });
    await assert.rejects(merge(path.join(dir, 'flat.index'), [path.join(dir, 'ivf.index')]), isFaissError('FAISS', /not an IVF index/));
    await assert.rejects(merge(path.join(dir, 'ivf.index'), [path.join(dir, 'flat.index')]), isFaissError('FAISS', /not an IVF index/));
    await assert.rejects(merge(path.join(dir, 'ivf.index'), [path.join(dir, 'other.index')]), isFaissError('FAISS', /cannot merge/));
    await assert.rejects(merge(path.join(dir, 'ivf.index'), []), isFaissError('INVALID_ARGUMENT', /at least one/));
  });
});
