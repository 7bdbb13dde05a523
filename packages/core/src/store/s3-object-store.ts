import { createReadStream, createWriteStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { Readable, Transform, pipeline } from 'node:stream';
import { pipeline as pipelineAsync } from 'node:stream/promises';
import {
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { ConfigError, ObjectStoreError } from '../errors.js';
import {
  assertValidKey,
  assertValidRange,
  type ByteRange,
  type ListedObject,
  type ObjectHead,
  type ObjectStore,
  type PutBody,
  type PutOptions,
} from './object-store.js';
import { DEFAULT_S3_OPTIONS, validateS3Options, type S3Options } from './s3-options.js';
import { replaceFileAtomically } from './local-file.js';

/** An ObjectStore over `s3://bucket/prefix` on AWS S3 or any S3-protocol server. */
export class S3ObjectStore implements ObjectStore {
  readonly url: string;
  readonly client: S3Client;
  private readonly options: Required<Omit<S3Options, 'region' | 'endpoint' | 'credentials'>> & S3Options;
  private readonly keyPrefix: string;
  private closed = false;

  constructor(
    readonly bucket: string,
    prefix: string,
    options: S3Options = {},
  ) {
    const problems = validateS3Options(options);
    if (problems.length > 0) throw new ConfigError(`invalid S3 options for s3://${bucket}: ${problems.join('; ')}`);
    this.options = { ...DEFAULT_S3_OPTIONS, ...options };
    this.keyPrefix = prefix.replace(/^\/+|\/+$/g, '');
    this.url = `s3://${bucket}${this.keyPrefix === '' ? '' : `/${this.keyPrefix}`}`;
    const config: S3ClientConfig = {
      region: options.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1',
      forcePathStyle: this.options.forcePathStyle,
      maxAttempts: this.options.maxAttempts,
      retryMode: this.options.retryMode,
      // Bounded connect/idle timeouts so an unreachable endpoint fails in seconds instead of hanging.
      requestHandler: {
        connectionTimeout: this.options.connectTimeoutMs,
        requestTimeout: this.options.requestTimeoutMs,
        // Without this the SDK only logs a warning when requestTimeout passes and keeps waiting.
        throwOnRequestTimeout: true,
      },
      requestChecksumCalculation: this.options.requestChecksumCalculation,
      responseChecksumValidation: this.options.requestChecksumCalculation,
    };
    if (options.endpoint !== undefined) config.endpoint = options.endpoint;
    // Absent credentials: the SDK's default provider chain (env, profile, IMDS/ECS, web identity).
    if (options.credentials !== undefined) config.credentials = options.credentials;
    this.client = new S3Client(config);
  }

  async put(key: string, body: PutBody, options: PutOptions = {}): Promise<void> {
    const Key = this.fullKey(key);
    if (body instanceof Uint8Array) {
      await this.call(key, () => this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key, Body: body, ContentType: options.contentType })));
      return;
    }
    if (body instanceof Readable) {
      // Unknown length: lib-storage buffers parts and switches to multipart when needed.
      await this.upload(key, body, options);
      return;
    }
    await this.putFile(key, body.filePath, options);
  }

  async putFile(key: string, localPath: string, options: PutOptions = {}): Promise<void> {
    const Key = this.fullKey(key);
    const info = await stat(localPath).catch((cause: unknown) => {
      throw new ObjectStoreError('OBJECT_NOT_FOUND', `local file to upload not found: ${localPath} (for ${this.describe(key)})`, { cause });
    });
    if (info.size < this.options.multipartThresholdBytes) {
      // Read small files into memory: a Buffer body can be re-sent when the SDK retries, a
      // half-consumed file stream cannot.
      const body = await readFile(localPath);
      await this.call(key, () => this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key, Body: body, ContentType: options.contentType })));
      return;
    }
    await this.upload(key, createReadStream(localPath), options);
  }

  async get(key: string): Promise<Buffer> {
    return this.readBody(
      key,
      () => this.getStream(key),
      (stream) => collect(stream),
    );
  }

  async getRange(key: string, start: number, endInclusive: number): Promise<Buffer> {
    return this.readBody(
      key,
      () => this.getStream(key, { start, endInclusive }),
      (stream) => collect(stream),
    );
  }

  async getStream(key: string, range?: ByteRange): Promise<Readable> {
    const Key = this.fullKey(key);
    if (range !== undefined) assertValidRange(key, range.start, range.endInclusive);
    const response = await this.call(key, () =>
      this.client.send(
        new GetObjectCommand({
          Bucket: this.bucket,
          Key,
          Range: range === undefined ? undefined : `bytes=${range.start}-${range.endInclusive}`,
        }),
      ),
    );
    if (!(response.Body instanceof Readable)) {
      throw new ObjectStoreError('STORE_IO', `unexpected response body type for ${this.describe(key)}`);
    }
    // The SDK does not check that a body has as many bytes as Content-Length announced; a
    // connection cut mid-body (or a server rewriting the object under us) would otherwise hand
    // callers a short object as if it were whole.
    const announced = response.ContentLength;
    const body = announced === undefined ? response.Body : checkedLength(response.Body, announced, this.describe(key));
    if (range !== undefined) {
      // Some S3-protocol servers answer a Range request with more than was asked (s3rver sends
      // the whole object, labelled as such, for `bytes=0-0`). Check what came back and cut the
      // requested window out locally, so callers always get exactly their bytes.
      const served = parseContentRange(response.ContentRange) ?? { start: 0, end: (announced ?? 0) - 1, size: announced ?? 0 };
      const wantedEnd = Math.min(range.endInclusive, served.size - 1);
      if (served.start !== range.start || served.end !== wantedEnd) {
        if (range.start >= served.size) {
          body.destroy();
          throw new ObjectStoreError('INVALID_RANGE', `range start ${range.start} is past the end of ${this.describe(key)} (${served.size} bytes)`);
        }
        if (served.start > range.start || served.end < wantedEnd) {
          body.destroy();
          throw new ObjectStoreError(
            'STORE_IO',
            `server returned bytes ${served.start}-${served.end} of ${this.describe(key)} for a request of ${range.start}-${wantedEnd}`,
          );
        }
        return pipeline(body, byteWindow(range.start - served.start, wantedEnd - served.start), () => undefined);
      }
    }
    return body;
  }

  async download(key: string, localPath: string): Promise<void> {
    await this.readBody(
      key,
      () => this.getStream(key),
      (stream) => replaceFileAtomically(localPath, (tmp) => pipelineAsync(stream, createWriteStream(tmp))),
    );
  }

  async head(key: string): Promise<ObjectHead | null> {
    const Key = this.fullKey(key);
    try {
      const response = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key }));
      const head: ObjectHead = { size: response.ContentLength ?? 0 };
      if (response.ETag !== undefined) head.etag = response.ETag.replace(/"/g, '');
      if (response.LastModified !== undefined) head.lastModified = response.LastModified;
      return head;
    } catch (cause) {
      const mapped = this.mapError(cause, key);
      if (mapped.code === 'OBJECT_NOT_FOUND') return null;
      throw mapped;
    }
  }

  async exists(key: string): Promise<boolean> {
    return (await this.head(key)) !== null;
  }

  async list(prefix: string): Promise<string[]> {
    return (await this.listObjects(prefix)).map((o) => o.key);
  }

  async listObjects(prefix: string): Promise<ListedObject[]> {
    const keys: ListedObject[] = [];
    const fullPrefix = this.keyPrefix === '' ? prefix : `${this.keyPrefix}/${prefix}`;
    let token: string | undefined;
    do {
      const page = await this.call(prefix, () =>
        this.client.send(
          new ListObjectsV2Command({
            Bucket: this.bucket,
            Prefix: fullPrefix,
            ContinuationToken: token,
            MaxKeys: this.options.listPageSize,
          }),
        ),
      );
      for (const object of page.Contents ?? []) {
        if (object.Key === undefined) continue;
        const key = this.keyPrefix === '' ? object.Key : object.Key.slice(this.keyPrefix.length + 1);
        keys.push({ key, size: object.Size ?? 0 });
      }
      token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
    return keys;
  }

  async delete(key: string): Promise<void> {
    // S3 DeleteObject succeeds on missing keys, which is the idempotence the interface promises.
    await this.call(key, () => this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.fullKey(key) })));
  }

  async deletePrefix(prefix: string): Promise<number> {
    const keys = await this.list(prefix);
    // DeleteObjects takes at most 1000 keys per request.
    for (let i = 0; i < keys.length; i += 1000) {
      const batch = keys.slice(i, i + 1000);
      const response = await this.call(prefix, () =>
        this.client.send(
          new DeleteObjectsCommand({
            Bucket: this.bucket,
            Delete: { Objects: batch.map((k) => ({ Key: this.fullKey(k) })), Quiet: true },
          }),
        ),
      );
      const failed = response.Errors ?? [];
      if (failed.length > 0) {
        const first = failed[0]!;
        throw new ObjectStoreError(
          first.Code === 'AccessDenied' ? 'PERMISSION_DENIED' : 'STORE_IO',
          `could not delete ${failed.length} object(s) under ${this.describe(prefix)}, first ${first.Key}: ${first.Code} ${first.Message ?? ''}`.trim(),
        );
      }
    }
    return keys.length;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.client.destroy();
  }

  private async upload(key: string, body: Readable, options: PutOptions): Promise<void> {
    const upload = new Upload({
      client: this.client,
      params: { Bucket: this.bucket, Key: this.fullKey(key), Body: body, ContentType: options.contentType },
      partSize: this.options.partSizeBytes,
      queueSize: this.options.uploadConcurrency,
      // A failed multipart upload must not leave billable orphan parts behind.
      leavePartsOnError: false,
    });
    try {
      await upload.done();
    } catch (cause) {
      throw this.mapError(cause, key);
    }
  }

  /** Runs one SDK call, translating its failure. `key` is only for the error message. */
  private async call<T>(key: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (cause) {
      throw this.mapError(cause, key);
    }
  }

  /**
   * Opens a GET and consumes its body, again from the start when the body breaks off (a cut
   * connection, a stall past the request timeout, fewer bytes than announced): the SDK's retries
   * end when the headers arrive, so a body that fails later is retried here, with the same
   * attempt budget and a growing pause. Errors before the body (already retried by the SDK) and
   * errors of the consumer itself pass through at once.
   */
  private async readBody<T>(key: string, open: () => Promise<Readable>, consume: (stream: Readable) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const stream = await open();
      try {
        return await consume(stream);
      } catch (cause) {
        const error = this.mapError(cause, key);
        if (attempt >= this.options.maxAttempts || !isBodyBreak(cause, error)) throw error;
        stream.destroy();
        await new Promise((resolve) => setTimeout(resolve, Math.min(100 * 2 ** (attempt - 1), 2000)));
      }
    }
  }

  private fullKey(key: string): string {
    assertValidKey(key, this.url);
    return this.keyPrefix === '' ? key : `${this.keyPrefix}/${key}`;
  }

  private describe(key: string): string {
    return `${this.url}/${key}`;
  }

  /** The one place S3 / network failures become ObjectStoreError codes. */
  private mapError(cause: unknown, key: string): ObjectStoreError {
    if (cause instanceof ObjectStoreError) return cause;
    const error = cause as { name?: string; code?: string; Code?: string; message?: string; $metadata?: { httpStatusCode?: number } };
    const status = error.$metadata?.httpStatusCode;
    const name = error.name ?? error.Code ?? '';
    const where = this.describe(key);
    if (name === 'NoSuchBucket') {
      return new ObjectStoreError('BUCKET_NOT_FOUND', `bucket ${this.bucket} does not exist (${where})`, { cause });
    }
    if (name === 'NoSuchKey' || name === 'NotFound' || status === 404) {
      return new ObjectStoreError('OBJECT_NOT_FOUND', `object not found: ${where}`, { cause });
    }
    if (name === 'AccessDenied' || name === 'Forbidden' || name === 'InvalidAccessKeyId' || name === 'SignatureDoesNotMatch' || status === 403) {
      return new ObjectStoreError('PERMISSION_DENIED', `permission denied (${name || status}) on ${where}`, { cause });
    }
    if (name === 'InvalidRange' || status === 416) {
      return new ObjectStoreError('INVALID_RANGE', `requested range is past the end of ${where}`, { cause });
    }
    const networkCode = error.code ?? '';
    if (
      ['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH'].includes(networkCode) ||
      name === 'TimeoutError' ||
      name === 'RequestTimeout'
    ) {
      const endpoint = this.options.endpoint ?? `the AWS S3 endpoint for bucket ${this.bucket}`;
      return new ObjectStoreError(
        'ENDPOINT_UNREACHABLE',
        `S3 endpoint ${endpoint} is unreachable or not responding (${networkCode || name}) after ${this.options.maxAttempts} attempt(s) while accessing ${where}`,
        { cause },
      );
    }
    return new ObjectStoreError('STORE_IO', `S3 error on ${where}: ${name || 'unknown'} ${error.message ?? ''}`.trim(), { cause });
  }
}

async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Response bodies that ended with fewer bytes than their Content-Length announced. */
const shortBodies = new WeakSet<Error>();

/** A body that broke off in transit (worth reading again), as opposed to a local failure. */
function isBodyBreak(cause: unknown, mapped: ObjectStoreError): boolean {
  if (shortBodies.has(mapped)) return true;
  const code = (cause as { code?: string }).code;
  return mapped.code === 'ENDPOINT_UNREACHABLE' || code === 'ERR_STREAM_PREMATURE_CLOSE' || (cause as Error).message === 'aborted';
}

/** Passes through only bytes start..endInclusive of the stream it is piped from. */
function byteWindow(start: number, endInclusive: number): Transform {
  let offset = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      const from = Math.max(start - offset, 0);
      const to = Math.min(endInclusive + 1 - offset, chunk.length);
      offset += chunk.length;
      done(null, from < to ? chunk.subarray(from, to) : undefined);
    },
  });
}

/** Parses `bytes a-b/size`; undefined when absent or unparseable. */
function parseContentRange(header: string | undefined): { start: number; end: number; size: number } | undefined {
  const match = header === undefined ? null : /^bytes (\d+)-(\d+)\/(\d+)$/.exec(header);
  if (match === null) return undefined;
  return { start: Number(match[1]), end: Number(match[2]), size: Number(match[3]) };
}

/** Passes the stream through, failing it at the end if it did not carry exactly `expected` bytes. */
function checkedLength(body: Readable, expected: number, where: string): Readable {
  let seen = 0;
  const check = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      seen += chunk.length;
      done(null, chunk);
    },
    flush(done) {
      if (seen === expected) return done(null);
      const error = new ObjectStoreError(
        'STORE_IO',
        `response for ${where} ended after ${seen} of ${expected} bytes (connection cut or object replaced mid-read)`,
      );
      shortBodies.add(error);
      done(error);
    },
  });
  return pipeline(body, check, () => undefined);
}
