/**
 * The behaviour every ObjectStore must have, as one suite run against each implementation
 * (file:// in a temp dir, s3:// against a real S3-protocol server). Exported so a future store
 * (gs://, az://) is held to the same contract.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import { ObjectStoreError } from '../errors.js';
import type { ObjectStore } from './object-store.js';
import { sha256Buffer, sha256File, sha256Stream } from './sha256.js';

export interface ContractFixture {
  /** A fresh, empty store for one test. */
  open(): Promise<ObjectStore>;
  /** Called once after all tests. */
  teardown?(): Promise<void>;
  /** Called once before all tests. */
  setup?(): Promise<void>;
  /**
   * Reason to skip the concurrent-overwrite test, for test servers that do not implement S3's
   * atomic PutObject (s3rver rewrites its data file in place, so a racing GET can return a
   * consistent-looking but short body). Stores themselves never get this pass.
   */
  skipAtomicReplace?: string;
}

async function assertStoreError(promise: Promise<unknown>, code: string, mentions: string): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof ObjectStoreError, `expected ObjectStoreError, got ${String(error)}`);
    assert.equal(error.code, code);
    assert.ok(error.message.includes(mentions), `message ${JSON.stringify(error.message)} should mention ${mentions}`);
    return true;
  });
}

async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export function objectStoreContract(name: string, fixture: ContractFixture): void {
  describe(`ObjectStore contract: ${name}`, () => {
    let store: ObjectStore;
    let localDir: string;

    if (fixture.setup) before(() => fixture.setup!());
    if (fixture.teardown) after(() => fixture.teardown!());
    beforeEach(async () => {
      store = await fixture.open();
      localDir = await mkdtemp(join(tmpdir(), 'reindex-contract-local-'));
    });
    afterEach(async () => {
      await store.close();
      await rm(localDir, { recursive: true, force: true });
    });

    it('puts and gets Buffer, Uint8Array, Readable and file bodies', async () => {
      await store.put('a/buffer.bin', Buffer.from('buffer body'));
      await store.put('a/u8.bin', new Uint8Array([1, 2, 3, 250]));
      await store.put('a/stream.txt', Readable.from([Buffer.from('str'), Buffer.from('eam')]), { contentType: 'text/plain' });
      const local = join(localDir, 'src.txt');
      await writeFile(local, 'from a file');
      await store.put('a/file.txt', { filePath: local });
      assert.equal((await store.get('a/buffer.bin')).toString(), 'buffer body');
      assert.deepEqual([...(await store.get('a/u8.bin'))], [1, 2, 3, 250]);
      assert.equal((await store.get('a/stream.txt')).toString(), 'stream');
      assert.equal((await store.get('a/file.txt')).toString(), 'from a file');
    });

    it('overwrites an existing key and stores empty objects', async () => {
      await store.put('k', Buffer.from('first version'));
      await store.put('k', Buffer.from('second'));
      assert.equal((await store.get('k')).toString(), 'second');
      await store.put('empty', Buffer.alloc(0));
      assert.equal((await store.get('empty')).length, 0);
      assert.deepEqual(await store.head('empty').then((h) => h?.size), 0);
    });

    it('names the missing key when an object does not exist', async () => {
      await assertStoreError(store.get('no/such/key.json'), 'OBJECT_NOT_FOUND', 'no/such/key.json');
      await assertStoreError(store.getRange('missing.bin', 0, 3), 'OBJECT_NOT_FOUND', 'missing.bin');
      await assertStoreError(store.getStream('missing.bin').then(collect), 'OBJECT_NOT_FOUND', 'missing.bin');
      await assertStoreError(store.download('gone.bin', join(localDir, 'x')), 'OBJECT_NOT_FOUND', 'gone.bin');
      assert.equal(await store.head('missing.bin'), null);
      assert.equal(await store.exists('missing.bin'), false);
    });

    it('reads byte ranges, cutting ranges that run past the end', async () => {
      await store.put('r.txt', Buffer.from('0123456789'));
      assert.equal((await store.getRange('r.txt', 2, 5)).toString(), '2345');
      assert.equal((await store.getRange('r.txt', 0, 0)).toString(), '0');
      assert.equal((await store.getRange('r.txt', 7, 100)).toString(), '789');
      assert.equal((await collect(await store.getStream('r.txt', { start: 3, endInclusive: 4 }))).toString(), '34');
      await assertStoreError(store.getRange('r.txt', 10, 12), 'INVALID_RANGE', 'r.txt');
      await assertStoreError(store.getRange('r.txt', 5, 4), 'INVALID_RANGE', 'r.txt');
      await assertStoreError(store.getRange('r.txt', -1, 4), 'INVALID_RANGE', 'r.txt');
    });

    it('streams, heads and downloads a multi-MiB file with matching sha256', async () => {
      const local = join(localDir, 'big.bin');
      const data = Buffer.alloc(6 * 1024 * 1024 + 123);
      for (let i = 0; i < data.length; i += 4096) data[i] = (i / 4096) & 0xff;
      await writeFile(local, data);
      await store.putFile('big/blob.bin', local);
      const head = await store.head('big/blob.bin');
      assert.equal(head?.size, data.length);
      assert.equal(await sha256Stream(await store.getStream('big/blob.bin')), sha256Buffer(data));
      const target = join(localDir, 'nested', 'dir', 'copy.bin');
      await store.download('big/blob.bin', target);
      assert.equal(await sha256File(target), sha256Buffer(data));
      assert.equal((await stat(target)).size, data.length);
    });

    it('lists keys by plain prefix, sorted, including nested ones', async () => {
      for (const key of ['a/b/c.txt', 'a/bc.txt', 'a/b/d/e.txt', 'b/x.txt', 'a/a.txt']) {
        await store.put(key, Buffer.from(key));
      }
      assert.deepEqual(await store.list('a/b'), ['a/b/c.txt', 'a/b/d/e.txt', 'a/bc.txt']);
      assert.deepEqual(await store.list('a/b/'), ['a/b/c.txt', 'a/b/d/e.txt']);
      assert.deepEqual(await store.list(''), ['a/a.txt', 'a/b/c.txt', 'a/b/d/e.txt', 'a/bc.txt', 'b/x.txt']);
      assert.deepEqual(await store.list('zzz'), []);
      assert.deepEqual(await store.listObjects('a/b/'), [
        { key: 'a/b/c.txt', size: 'a/b/c.txt'.length },
        { key: 'a/b/d/e.txt', size: 'a/b/d/e.txt'.length },
      ]);
    });

    it('deletes idempotently and by prefix', async () => {
      for (const key of ['p/1', 'p/2', 'p/q/3', 'pp/4', 'other']) await store.put(key, Buffer.from('x'));
      await store.delete('other');
      await store.delete('other');
      assert.equal(await store.exists('other'), false);
      assert.equal(await store.deletePrefix('p/'), 3);
      assert.deepEqual(await store.list(''), ['pp/4']);
      assert.equal(await store.deletePrefix('nothing/'), 0);
    });

    it('rejects keys that escape the root or are ambiguous', async () => {
      for (const key of ['', '/abs', 'a/../b', 'a//b', './a', 'a\\b']) {
        await assertStoreError(store.put(key, Buffer.from('x')), 'INVALID_KEY', JSON.stringify(key));
      }
    });

    it('never shows a reader a partial object while it is being replaced', { skip: fixture.skipAtomicReplace ?? false }, async () => {
      const size = 2 * 1024 * 1024;
      const a = Buffer.alloc(size, 0x61);
      const b = Buffer.alloc(size, 0x62);
      await store.put('LATEST', a);
      const seen = new Set<string>();
      let writing = true;
      const writer = (async () => {
        try {
          for (let i = 0; i < 6; i++) await store.put('LATEST', i % 2 === 0 ? b : a);
        } finally {
          writing = false;
        }
      })();
      try {
        while (writing) {
          const body = await store.get('LATEST');
          assert.equal(body.length, size, 'a reader saw a partially written object');
          assert.ok(body.equals(a) || body.equals(b), 'a reader saw mixed content');
          seen.add(body.equals(a) ? 'a' : 'b');
        }
      } finally {
        // Never leave the writer running past the test, whatever happened to the reader.
        await writer.catch(() => undefined);
      }
      await writer;
      assert.ok(seen.size >= 1);
      assert.equal((await store.get('LATEST')).length, size);
    });
  });
}
