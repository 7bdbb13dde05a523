import type { Dirent } from 'node:fs';
import { createReadStream, createWriteStream } from 'node:fs';
import { copyFile, mkdir, open, readdir, readFile, rename, rm, rmdir, stat, unlink } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { dirname, join, relative, sep } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { pathToFileURL } from 'node:url';
import { ObjectStoreError } from '../errors.js';
import { replaceFileAtomically } from './local-file.js';
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

/**
 * Directory under the root where writes are staged. Staging inside the root (not os.tmpdir())
 * keeps the temp file on the same file system, so the final rename is atomic.
 */
const STAGING_DIR = '.reindex-staging';

/** An ObjectStore over a local directory: one file per key. */
export class FileObjectStore implements ObjectStore {
  readonly url: string;

  /** @param rootDir absolute path of the store root; created lazily on first write. */
  constructor(readonly rootDir: string) {
    this.url = pathToFileURL(rootDir).href;
  }

  async put(key: string, body: PutBody, _options: PutOptions = {}): Promise<void> {
    // contentType has no file-system equivalent; the extension carries it.
    const target = this.pathOf(key);
    await this.writeAtomically(key, target, async (tmp) => {
      if (body instanceof Uint8Array) {
        await pipeline(Readable.from([body]), createWriteStream(tmp));
      } else if (body instanceof Readable) {
        await pipeline(body, createWriteStream(tmp));
      } else {
        await copyFile(body.filePath, tmp).catch((cause: unknown) => {
          throw this.mapError(cause, key, `reading local file ${body.filePath}`);
        });
      }
    });
  }

  putFile(key: string, localPath: string, options?: PutOptions): Promise<void> {
    return this.put(key, { filePath: localPath }, options);
  }

  async get(key: string): Promise<Buffer> {
    const path = this.pathOf(key);
    return readFile(path).catch((cause: unknown) => {
      throw this.mapError(cause, key);
    });
  }

  async getRange(key: string, start: number, endInclusive: number): Promise<Buffer> {
    assertValidRange(key, start, endInclusive);
    const path = this.pathOf(key);
    const handle = await open(path, 'r').catch((cause: unknown) => {
      throw this.mapError(cause, key);
    });
    try {
      const { size } = await handle.stat();
      this.checkStart(key, start, size);
      const length = Math.min(endInclusive, size - 1) - start + 1;
      const buffer = Buffer.allocUnsafe(length);
      let filled = 0;
      while (filled < length) {
        const { bytesRead } = await handle.read(buffer, filled, length - filled, start + filled);
        if (bytesRead === 0) break;
        filled += bytesRead;
      }
      return buffer.subarray(0, filled);
    } finally {
      await handle.close();
    }
  }

  async getStream(key: string, range?: ByteRange): Promise<Readable> {
    const path = this.pathOf(key);
    const info = await stat(path).catch((cause: unknown) => {
      throw this.mapError(cause, key);
    });
    if (range !== undefined) {
      assertValidRange(key, range.start, range.endInclusive);
      this.checkStart(key, range.start, info.size);
      return createReadStream(path, { start: range.start, end: Math.min(range.endInclusive, info.size - 1) });
    }
    return createReadStream(path);
  }

  async download(key: string, localPath: string): Promise<void> {
    const source = this.pathOf(key);
    try {
      await replaceFileAtomically(localPath, (tmp) => copyFile(source, tmp));
    } catch (cause) {
      throw this.mapError(cause, key);
    }
  }

  async head(key: string): Promise<ObjectHead | null> {
    const path = this.pathOf(key);
    try {
      const info = await stat(path);
      if (!info.isFile()) return null;
      return { size: info.size, lastModified: info.mtime };
    } catch (cause) {
      if (isCode(cause, 'ENOENT') || isCode(cause, 'ENOTDIR')) return null;
      throw this.mapError(cause, key);
    }
  }

  async exists(key: string): Promise<boolean> {
    return (await this.head(key)) !== null;
  }

  async list(prefix: string): Promise<string[]> {
    return (await this.listObjects(prefix)).map((o) => o.key);
  }

  async listObjects(prefix: string): Promise<ListedObject[]> {
    // Walk only the deepest directory the prefix fully names, then filter by the partial tail.
    const slash = prefix.lastIndexOf('/');
    const baseDir = slash < 0 ? '' : prefix.slice(0, slash);
    const found: ListedObject[] = [];
    await this.walk(baseDir === '' ? this.rootDir : join(this.rootDir, ...baseDir.split('/')), found);
    return found.filter((o) => o.key.startsWith(prefix)).sort((a, b) => compareKeys(a.key, b.key));
  }

  async delete(key: string): Promise<void> {
    const path = this.pathOf(key);
    try {
      await unlink(path);
    } catch (cause) {
      if (isCode(cause, 'ENOENT')) return;
      throw this.mapError(cause, key);
    }
    await this.pruneEmptyDirs(dirname(path));
  }

  async deletePrefix(prefix: string): Promise<number> {
    const keys = await this.list(prefix);
    for (const key of keys) await this.delete(key);
    return keys.length;
  }

  async close(): Promise<void> {}

  private pathOf(key: string): string {
    assertValidKey(key, this.url);
    return join(this.rootDir, ...key.split('/'));
  }

  private checkStart(key: string, start: number, size: number): void {
    if (start >= size) {
      throw new ObjectStoreError('INVALID_RANGE', `range start ${start} is past the end of ${this.describe(key)} (${size} bytes)`);
    }
  }

  private async writeAtomically(key: string, target: string, write: (tmp: string) => Promise<void>): Promise<void> {
    const stagingDir = join(this.rootDir, STAGING_DIR);
    const tmp = join(stagingDir, `${randomBytes(8).toString('hex')}.part`);
    try {
      await this.makeDirs(stagingDir, key);
      await this.makeDirs(dirname(target), key);
      await write(tmp);
      await rename(tmp, target);
    } catch (cause) {
      await rm(tmp, { force: true });
      throw cause instanceof ObjectStoreError ? cause : this.mapError(cause, key);
    }
  }

  private async walk(dir: string, out: ListedObject[]): Promise<void> {
    let entries: Dirent[];
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (cause) {
      if (isCode(cause, 'ENOENT') || isCode(cause, 'ENOTDIR')) return;
      throw this.mapError(cause, relative(this.rootDir, dir));
    }
    for (const entry of entries) {
      const full = join(dir, entry.name);
      if (entry.isDirectory()) {
        if (dir === this.rootDir && entry.name === STAGING_DIR) continue;
        await this.walk(full, out);
      } else if (entry.isFile()) {
        const info = await stat(full).catch(() => undefined); // deleted meanwhile: skip it
        if (info !== undefined) out.push({ key: relative(this.rootDir, full).split(sep).join('/'), size: info.size });
      }
    }
  }

  /** Removes directories emptied by a delete, up to (not including) the root, so list stays cheap. */
  private async pruneEmptyDirs(dir: string): Promise<void> {
    while (dir !== this.rootDir && dir.startsWith(this.rootDir)) {
      try {
        await rmdir(dir);
      } catch {
        return; // not empty (or already gone): stop climbing
      }
      dir = dirname(dir);
    }
  }

  private describe(key: string): string {
    return `${this.url.replace(/\/$/, '')}/${key}`;
  }

  /**
   * `mkdir -p` one level at a time from the nearest existing ancestor. Node's recursive mkdir
   * spins forever where a file system refuses new directories with ENOENT (/proc, /sys); here
   * every refusal is an error naming the directory.
   */
  private async makeDirs(dir: string, key: string): Promise<void> {
    const missing: string[] = [];
    for (let at = dir; ; at = dirname(at)) {
      const info = await stat(at).catch((cause: unknown) => {
        // ENOTDIR: an ancestor is a file; going up finds it.
        if (isCode(cause, 'ENOENT') || isCode(cause, 'ENOTDIR')) return undefined;
        throw this.mapError(cause, key, `checking directory ${at}`);
      });
      if (info?.isDirectory()) break;
      if (info) throw new ObjectStoreError('STORE_IO', `cannot create directory ${at} for ${this.describe(key)}: a file is in the way`);
      missing.push(at);
      if (dirname(at) === at) break;
    }
    for (const at of missing.reverse()) {
      try {
        await mkdir(at);
      } catch (cause) {
        if (isCode(cause, 'EEXIST')) continue;
        const reason = cause instanceof Error ? cause.message : String(cause);
        throw new ObjectStoreError(
          isCode(cause, 'EACCES') || isCode(cause, 'EPERM') || isCode(cause, 'EROFS') ? 'PERMISSION_DENIED' : 'STORE_IO',
          `cannot create directory ${at} for ${this.describe(key)}: ${reason}`,
          { cause },
        );
      }
    }
  }

  private mapError(cause: unknown, key: string, doing?: string): ObjectStoreError {
    if (cause instanceof ObjectStoreError) return cause;
    const where = doing === undefined ? this.describe(key) : `${this.describe(key)} (${doing})`;
    if (isCode(cause, 'ENOENT') || isCode(cause, 'ENOTDIR') || isCode(cause, 'EISDIR')) {
      return new ObjectStoreError('OBJECT_NOT_FOUND', `object not found: ${where}`, { cause });
    }
    if (isCode(cause, 'ENOSPC') || isCode(cause, 'EDQUOT')) {
      // A full store stays full for every attempt and every worker: an operator frees space.
      return new ObjectStoreError('STORE_FULL', `no space left on the store for ${where}: free space (or raise the quota), then resume the build`, { cause });
    }
    if (isCode(cause, 'EROFS')) {
      return new ObjectStoreError('PERMISSION_DENIED', `the store's file system is read-only (${where}): remount it writable, then resume the build`, {
        cause,
      });
    }
    if (isCode(cause, 'EACCES') || isCode(cause, 'EPERM')) {
      return new ObjectStoreError('PERMISSION_DENIED', `permission denied: ${where}`, { cause });
    }
    const reason = cause instanceof Error ? cause.message : String(cause);
    return new ObjectStoreError('STORE_IO', `I/O error on ${where}: ${reason}`, { cause });
  }
}

/** Byte-wise (code unit) order, the order S3 lists keys in for ASCII keys. */
export function compareKeys(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function isCode(error: unknown, code: string): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === code;
}
