import { basename, dirname, isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ObjectStoreError } from '../errors.js';
import { FileObjectStore } from './file-object-store.js';
import type { ObjectStore } from './object-store.js';
import { S3ObjectStore } from './s3-object-store.js';
import type { S3Options } from './s3-options.js';

/** Where a store URL points, parsed but not opened. */
export type StoreLocation = { scheme: 'file'; path: string } | { scheme: 's3'; bucket: string; prefix: string };

export interface OpenObjectStoreOptions {
  /** Options for `s3://` URLs; ignored for local paths. */
  s3?: S3Options;
  /** Base for relative local paths. Default: `process.cwd()`. */
  cwd?: string;
}

/**
 * Parses a store URL: `s3://bucket[/prefix]`, `file:///abs/path`, or a plain local path
 * (absolute or relative to `cwd`). Any other scheme is INVALID_URL.
 */
export function parseStoreUrl(url: string, cwd: string = process.cwd()): StoreLocation {
  if (typeof url !== 'string' || url.trim() === '') {
    throw new ObjectStoreError('INVALID_URL', 'store URL is empty');
  }
  if (url.startsWith('s3://')) {
    const rest = url.slice('s3://'.length);
    const slash = rest.indexOf('/');
    const bucket = slash < 0 ? rest : rest.slice(0, slash);
    const prefix = slash < 0 ? '' : rest.slice(slash + 1).replace(/^\/+|\/+$/g, '');
    // S3 bucket naming rules, so a typo fails here instead of as an opaque signature error.
    if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) {
      throw new ObjectStoreError('INVALID_URL', `invalid S3 bucket name ${JSON.stringify(bucket)} in ${url}`);
    }
    return { scheme: 's3', bucket, prefix };
  }
  if (url.startsWith('file:')) {
    let path: string;
    try {
      path = fileURLToPath(url);
    } catch (cause) {
      throw new ObjectStoreError('INVALID_URL', `invalid file URL ${url}: use file:///absolute/path or a plain path`, { cause });
    }
    return { scheme: 'file', path };
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) {
    throw new ObjectStoreError('INVALID_URL', `unsupported store URL ${url}: expected s3://bucket/prefix, file:///path or a local path`);
  }
  return { scheme: 'file', path: isAbsolute(url) ? url : resolve(cwd, url) };
}

/** Opens the store a URL names. Nothing is contacted until the first operation. */
export function openObjectStore(url: string, options: OpenObjectStoreOptions = {}): ObjectStore {
  const location = parseStoreUrl(url, options.cwd);
  if (location.scheme === 'file') return new FileObjectStore(location.path);
  return new S3ObjectStore(location.bucket, location.prefix, options.s3);
}

/**
 * The bytes of the one object a URL names (a local file, `file:///…` or `s3://bucket/key`), for
 * small side inputs such as query files. A missing object is OBJECT_NOT_FOUND naming the URL.
 */
export async function readObjectAt(url: string, options: OpenObjectStoreOptions = {}): Promise<Buffer> {
  const location = parseStoreUrl(url, options.cwd);
  const key = location.scheme === 'file' ? basename(location.path) : (location.prefix.split('/').pop() ?? '');
  if (key === '') throw new ObjectStoreError('INVALID_URL', `${url} names a bucket or directory, not a file`);
  const store =
    location.scheme === 'file'
      ? new FileObjectStore(dirname(location.path))
      : new S3ObjectStore(location.bucket, location.prefix.split('/').slice(0, -1).join('/'), options.s3);
  try {
    return await store.get(key);
  } finally {
    await store.close();
  }
}
