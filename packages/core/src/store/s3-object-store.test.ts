import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer, type Socket } from 'node:net';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ObjectStoreError } from '../errors.js';
import { startS3FaultProxy } from '../testing/s3-fault-proxy.js';
import { startS3TestServer, type S3TestServer } from '../testing/s3-test-server.js';
import { objectStoreContract } from './object-store-contract.js';
import { openObjectStore } from './open-object-store.js';
import { sha256Buffer, sha256File } from './sha256.js';
import { DEFAULT_S3_OPTIONS } from './s3-options.js';

const BUCKET = 'reindex-contract';
let server: S3TestServer;

objectStoreContract('s3:// (s3rver)', {
  skipAtomicReplace: 's3rver rewrites objects in place (AWS S3 PutObject is atomic per object); covered on file://',
  async setup() {
    server = await startS3TestServer([BUCKET]);
  },
  async teardown() {
    await server.stop();
  },
  async open() {
    // A fresh prefix per test: the bucket is shared, the namespace is not.
    return openObjectStore(`s3://${BUCKET}/t-${randomBytes(6).toString('hex')}`, { s3: server.s3Options });
  },
});

describe('S3ObjectStore specifics', () => {
  let s3: S3TestServer;
  let localDir: string;
  before(async () => {
    s3 = await startS3TestServer([BUCKET]);
    localDir = await mkdtemp(join(tmpdir(), 'reindex-s3-local-'));
  });
  after(async () => {
    await s3.stop();
    await rm(localDir, { recursive: true, force: true });
  });

  it('has documented defaults', () => {
    assert.deepEqual(DEFAULT_S3_OPTIONS, {
      forcePathStyle: false,
      partSizeBytes: 16 * 1024 * 1024,
      multipartThresholdBytes: 64 * 1024 * 1024,
      uploadConcurrency: 4,
      listPageSize: 1000,
      maxAttempts: 5,
      retryMode: 'adaptive',
      connectTimeoutMs: 5000,
      requestTimeoutMs: 120_000,
      requestChecksumCalculation: 'WHEN_REQUIRED',
    });
  });

  it('uploads big files with multipart parts of the configured size', async () => {
    const store = openObjectStore(`s3://${BUCKET}/multipart`, {
      s3: { ...s3.s3Options, partSizeBytes: 5 * 1024 * 1024, multipartThresholdBytes: 5 * 1024 * 1024 },
    });
    const data = randomBytes(11 * 1024 * 1024 + 7);
    const local = join(localDir, 'parts.bin');
    await writeFile(local, data);
    await store.putFile('index/big.index', local);
    const head = await store.head('index/big.index');
    assert.equal(head?.size, data.length);
    assert.ok(head?.etag, 'S3 reports an ETag');
    const copy = join(localDir, 'parts-copy.bin');
    await store.download('index/big.index', copy);
    assert.equal(await sha256File(copy), sha256Buffer(data));
    await store.close();
  });

  it('reads a body again when it is cut off or stalls past the request timeout, and gives up after maxAttempts', async () => {
    const data = randomBytes(256 * 1024);
    const direct = openObjectStore(`s3://${BUCKET}/bodies`, { s3: s3.s3Options });
    await direct.put('blob', data);
    for (const [fault, extra] of [
      ['truncatedBody', {}],
      ['slowBody', { requestTimeoutMs: 300 }],
    ] as const) {
      // Every other request fails on average; five attempts read the whole object.
      const proxy = await startS3FaultProxy(s3.endpoint, { [fault]: 0.5 }, 3, { slowBodyPauseMs: 1500 });
      const store = openObjectStore(`s3://${BUCKET}/bodies`, { s3: { ...s3.s3Options, ...extra, endpoint: proxy.endpoint, maxAttempts: 8 } });
      for (let i = 0; i < 6; i++) assert.equal(sha256Buffer(await store.get('blob')), sha256Buffer(data), `${fault}: read ${i} is whole`);
      assert.deepEqual(await store.getRange('blob', 1000, 200_999), data.subarray(1000, 201_000));
      const copy = join(localDir, `${fault}.bin`);
      await store.download('blob', copy);
      assert.equal(await sha256File(copy), sha256Buffer(data));
      assert.ok(proxy.counts[fault] > 0, `${fault} faults were injected: ${JSON.stringify(proxy.counts)}`);
      await store.close();
      await proxy.stop();
    }
    // Every body cut: the error names the object and the short read, after the attempts.
    const broken = await startS3FaultProxy(s3.endpoint, { truncatedBody: 1 });
    const store = openObjectStore(`s3://${BUCKET}/bodies`, { s3: { ...s3.s3Options, endpoint: broken.endpoint, maxAttempts: 3 } });
    await assert.rejects(store.get('blob'), (error: Error) => {
      assert.ok(error instanceof ObjectStoreError, `${error.name}: ${error.message}`);
      assert.match(error.message, /bodies\/blob/);
      return true;
    });
    assert.equal(broken.counts.truncatedBody, 3, 'one request per attempt');
    await store.close();
    await broken.stop();
    await direct.close();
  });

  it('paginates listings', async () => {
    const store = openObjectStore(`s3://${BUCKET}/paged`, { s3: { ...s3.s3Options, listPageSize: 2 } });
    const keys = Array.from({ length: 7 }, (_, i) => `k/${String(i).padStart(2, '0')}`);
    for (const key of keys) await store.put(key, Buffer.from(key));
    assert.deepEqual(await store.list('k/'), keys);
    assert.equal(await store.deletePrefix('k/'), 7);
    assert.deepEqual(await store.list(''), []);
    await store.close();
  });

  it('names the bucket when it does not exist', async () => {
    const store = openObjectStore('s3://no-such-bucket-here/x', { s3: s3.s3Options });
    await assert.rejects(
      store.get('a.json'),
      (e: unknown) => e instanceof ObjectStoreError && e.code === 'BUCKET_NOT_FOUND' && e.message.includes('no-such-bucket-here'),
    );
    await store.close();
  });

  it('fails fast with the endpoint named when nothing listens there', async () => {
    const port = await freePort();
    const endpoint = `http://127.0.0.1:${port}`;
    const store = openObjectStore(`s3://${BUCKET}`, { s3: { ...s3.s3Options, endpoint, maxAttempts: 2 } });
    await assert.rejects(store.get('x'), (e: unknown) => {
      assert.ok(e instanceof ObjectStoreError);
      assert.equal(e.code, 'ENDPOINT_UNREACHABLE');
      assert.ok(e.message.includes(endpoint), e.message);
      return true;
    });
    await store.close();
  });

  it('gives up on an endpoint that accepts connections but never answers', async () => {
    const sockets: Socket[] = [];
    const silent = createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const address = silent.address();
    const endpoint = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`;
    const store = openObjectStore(`s3://${BUCKET}`, { s3: { ...s3.s3Options, endpoint, requestTimeoutMs: 200, maxAttempts: 2 } });
    try {
      await assert.rejects(store.head('x'), (e: unknown) => e instanceof ObjectStoreError && e.code === 'ENDPOINT_UNREACHABLE' && e.message.includes(endpoint));
    } finally {
      for (const socket of sockets) socket.destroy();
      silent.close();
      await store.close();
    }
  });
});

/** A loopback port that was free a moment ago (bound, then released). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
    });
  });
}
