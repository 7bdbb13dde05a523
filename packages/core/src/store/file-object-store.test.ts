import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, it } from 'node:test';
import { ConfigError, ObjectStoreError } from '../errors.js';
import { FileObjectStore } from './file-object-store.js';
import { objectStoreContract } from './object-store-contract.js';
import { openObjectStore, parseStoreUrl } from './open-object-store.js';
import { S3ObjectStore } from './s3-object-store.js';

const roots: string[] = [];
objectStoreContract('file://', {
  async open() {
    const root = await mkdtemp(join(tmpdir(), 'reindex-file-store-'));
    roots.push(root);
    return openObjectStore(pathToFileURL(root).href);
  },
  async teardown() {
    await Promise.all(roots.map((r) => rm(r, { recursive: true, force: true })));
  },
});

describe('FileObjectStore specifics', () => {
  it('leaves no staging files or empty directories behind', async () => {
    const root = await mkdtemp(join(tmpdir(), 'reindex-file-store-'));
    try {
      const store = new FileObjectStore(root);
      await store.put('x/y/z.bin', Buffer.from('1'));
      await store.deletePrefix('x/');
      assert.deepEqual(await store.list(''), []);
      const left = (await readdir(root)).filter((n) => n !== '.reindex-staging');
      assert.deepEqual(left, []);
      assert.deepEqual(await readdir(join(root, '.reindex-staging')), []);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it('reports a missing local source file by its path', async () => {
    const root = await mkdtemp(join(tmpdir(), 'reindex-file-store-'));
    try {
      const store = new FileObjectStore(root);
      await assert.rejects(store.putFile('k', join(root, 'nope.bin')), /nope\.bin/);
      assert.equal(await store.exists('k'), false);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it('fails at once, naming the directory, where directories cannot be made (/proc, a file in the way)', async () => {
    const proc = new FileObjectStore('/proc/reindex-store-test');
    await assert.rejects(
      proc.put('builds/b/build.json', Buffer.from('{}')),
      (e: unknown) => e instanceof ObjectStoreError && e.code === 'STORE_IO' && /cannot create directory \/proc\/reindex-store-test/.test(e.message),
    );
    const root = await mkdtemp(join(tmpdir(), 'reindex-file-store-'));
    try {
      await writeFile(join(root, 'builds'), 'a file, not a directory');
      const store = new FileObjectStore(root);
      await assert.rejects(
        store.put('builds/b/build.json', Buffer.from('{}')),
        (e: unknown) => e instanceof ObjectStoreError && /cannot create directory .*builds for .*: a file is in the way/.test(e.message),
      );
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it('treats a path that is a directory as a missing object', async () => {
    const root = await mkdtemp(join(tmpdir(), 'reindex-file-store-'));
    try {
      const store = new FileObjectStore(root);
      await store.put('dir/file', Buffer.from('1'));
      assert.equal(await store.head('dir'), null);
      await assert.rejects(store.get('dir'), (e: unknown) => e instanceof ObjectStoreError && e.code === 'OBJECT_NOT_FOUND');
      await writeFile(join(root, 'plain'), 'written outside the store');
      assert.equal((await store.get('plain')).toString(), 'written outside the store');
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});

describe('parseStoreUrl / openObjectStore', () => {
  it('parses s3, file URLs and relative paths', () => {
    assert.deepEqual(parseStoreUrl('s3://my-bucket/some/prefix/'), { scheme: 's3', bucket: 'my-bucket', prefix: 'some/prefix' });
    assert.deepEqual(parseStoreUrl('s3://my-bucket'), { scheme: 's3', bucket: 'my-bucket', prefix: '' });
    assert.deepEqual(parseStoreUrl('file:///var/data/store'), { scheme: 'file', path: '/var/data/store' });
    assert.deepEqual(parseStoreUrl('var/store', '/repo'), { scheme: 'file', path: '/repo/var/store' });
    assert.deepEqual(parseStoreUrl('/abs/store', '/repo'), { scheme: 'file', path: '/abs/store' });
  });

  it('rejects unsupported schemes and bad bucket names with the URL in the message', () => {
    assert.throws(
      () => parseStoreUrl('gs://bucket/x'),
      (e: unknown) => e instanceof ObjectStoreError && e.code === 'INVALID_URL' && e.message.includes('gs://bucket/x'),
    );
    assert.throws(() => parseStoreUrl('s3://Bad_Bucket/x'), /Bad_Bucket/);
    assert.throws(() => parseStoreUrl(''), /empty/);
  });

  it('opens the right implementation and validates S3 options by name', async () => {
    const s3 = openObjectStore('s3://bucket-name/pre', { s3: { region: 'eu-west-1' } });
    assert.ok(s3 instanceof S3ObjectStore);
    assert.equal(s3.url, 's3://bucket-name/pre');
    await s3.close();
    assert.ok(openObjectStore('relative/dir') instanceof FileObjectStore);
    assert.throws(
      () => openObjectStore('s3://bucket-name', { s3: { partSizeBytes: 1024 } }),
      (e: unknown) => e instanceof ConfigError && e.message.includes('s3.partSizeBytes'),
    );
  });
});
