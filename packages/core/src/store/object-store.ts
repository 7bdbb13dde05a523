import type { Readable } from 'node:stream';
import { ObjectStoreError } from '../errors.js';

/**
 * Body accepted by {@link ObjectStore.put}. A local file is passed as `{ filePath }` rather than
 * a bare string so a string can never be mistaken for content (or content for a path).
 */
export type PutBody = Buffer | Uint8Array | Readable | { filePath: string };

export interface PutOptions {
  /** MIME type stored with the object (S3 Content-Type). Default: none (S3 uses binary/octet-stream). */
  contentType?: string;
}

/** Metadata of a stored object. */
export interface ObjectHead {
  /** Size in bytes. */
  size: number;
  /** Store-specific version tag (S3 ETag, quotes stripped); absent for file:// stores. */
  etag?: string;
  /** Last modification time, when the store reports one. */
  lastModified?: Date;
}

/** One entry of a listing. */
export interface ListedObject {
  key: string;
  /** Size in bytes. */
  size: number;
}

/** Inclusive byte range, as in HTTP Range headers. */
export interface ByteRange {
  start: number;
  endInclusive: number;
}

/**
 * A flat key/value blob store rooted at a URL (a directory or an S3 bucket prefix). Keys are
 * `/`-separated relative paths. All implementations share one contract test suite.
 *
 * Atomicity: a `put` is all-or-nothing for readers — they see the previous object or the new
 * one, never a partial write. The LATEST pointer relies on this.
 */
export interface ObjectStore {
  /** Canonical URL of the store root (`file:///abs/dir` or `s3://bucket/prefix`). */
  readonly url: string;
  /** Stores `body` under `key`, replacing any previous object atomically. */
  put(key: string, body: PutBody, options?: PutOptions): Promise<void>;
  /** Uploads a local file (S3: multipart above the configured threshold). */
  putFile(key: string, localPath: string, options?: PutOptions): Promise<void>;
  /** Whole object. Throws ObjectStoreError OBJECT_NOT_FOUND naming the key when absent. */
  get(key: string): Promise<Buffer>;
  /**
   * Bytes `start..endInclusive`. A range running past the end is cut at the last byte (as HTTP
   * does); a start at or past the end is INVALID_RANGE.
   */
  getRange(key: string, start: number, endInclusive: number): Promise<Buffer>;
  /** Streams the object, or the given range of it. */
  getStream(key: string, range?: ByteRange): Promise<Readable>;
  /** Writes the object to a local file (via a temp file + rename, so the file is never partial). */
  download(key: string, localPath: string): Promise<void>;
  /** Size and version tag, or null when the object does not exist. */
  head(key: string): Promise<ObjectHead | null>;
  exists(key: string): Promise<boolean>;
  /** Every key starting with `prefix` (plain string prefix, not a directory), sorted ascending. */
  list(prefix: string): Promise<string[]>;
  /** Like list, with sizes (one ListObjectsV2 page already carries them, saving a HEAD per key). */
  listObjects(prefix: string): Promise<ListedObject[]>;
  /** Deletes the object; deleting a missing key is not an error (retries must be idempotent). */
  delete(key: string): Promise<void>;
  /** Deletes every key starting with `prefix`; returns how many were deleted. */
  deletePrefix(prefix: string): Promise<number>;
  /** Releases connections. Idempotent. */
  close(): Promise<void>;
}

/**
 * Rejects keys that would escape the store root or mean different things on different stores
 * (`a//b` is two segments on S3 but one directory on a file system).
 */
export function assertValidKey(key: string, storeUrl: string): void {
  const problem =
    typeof key !== 'string' || key.length === 0
      ? 'is empty'
      : key.startsWith('/')
        ? 'starts with "/"'
        : key.includes('\\')
          ? 'contains "\\"'
          : key.split('/').some((s) => s === '' || s === '.' || s === '..')
            ? 'has an empty, "." or ".." segment'
            : key.includes('\0')
              ? 'contains a NUL byte'
              : undefined;
  if (problem !== undefined) {
    throw new ObjectStoreError('INVALID_KEY', `invalid object key ${JSON.stringify(key)} for ${storeUrl}: it ${problem}`);
  }
}

/** Validates a byte range before any I/O so both stores reject the same inputs the same way. */
export function assertValidRange(key: string, start: number, endInclusive: number): void {
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(endInclusive) || start < 0 || endInclusive < start) {
    throw new ObjectStoreError('INVALID_RANGE', `invalid byte range ${start}..${endInclusive} for ${JSON.stringify(key)}: need 0 <= start <= endInclusive`);
  }
}

/** Joins key segments with `/`. */
export function joinKey(...segments: string[]): string {
  return segments.filter((s) => s.length > 0).join('/');
}
