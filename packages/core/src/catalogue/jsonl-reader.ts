import { createGunzip } from 'node:zlib';
import { PlanError, CatalogueError } from '../errors.js';
import type { ObjectStore } from '../store/object-store.js';
import { Batcher } from './batcher.js';
import type { RowBatch } from './catalogue-types.js';
import { parseJsonLine, splitLines } from './line-splitter.js';

/**
 * Reads the lines of a plain JSONL file that start in [start, end). Streams from `start` to the
 * end of the file and stops at the first line starting at or after `end`, so the last line may
 * run past `end` (it belongs to this shard because it starts here).
 */
export async function* readJsonlRange(
  store: ObjectStore,
  file: string,
  fileBytes: number,
  start: number,
  end: number,
  batchSize: number,
): AsyncGenerator<RowBatch> {
  await checkUnchanged(store, file, fileBytes);
  if (start >= end || start >= fileBytes) return;
  // Read one byte before `start` to confirm it is a line start; a mismatch means the file is not
  // the one that was planned (same size, different content) and rows would be lost or doubled.
  const readFrom = start === 0 ? 0 : start - 1;
  const stream = await store.getStream(file, { start: readFrom, endInclusive: fileBytes - 1 });
  const batcher = new Batcher(batchSize);
  let first = true;
  let lines = 0;
  try {
    for await (const line of splitLines(stream)) {
      const offset = readFrom + line.offset;
      if (first && start > 0) {
        first = false;
        if (line.bytes.length !== 0) {
          throw new PlanError('CATALOGUE_CHANGED', `${store.url}/${file}: byte ${start} is not a line start; the file changed since the shard plan was made`);
        }
        continue;
      }
      first = false;
      if (offset >= end) break;
      // Every line counts, blank ones too: line numbers are the file's.
      const index = lines++;
      const parsed = parseJsonLine(line.bytes);
      if (parsed === undefined) continue;
      const location = { file, byteOffset: offset, partLine: { start, index } };
      const full = 'value' in parsed ? batcher.row({ location, value: parsed.value }) : batcher.reject({ location, reason: parsed.reason });
      if (full) yield full;
    }
  } finally {
    stream.destroy();
  }
  yield { ...(batcher.flush() ?? { rows: [], rejections: [] }), rangeLines: { file, start, lines } };
}

/** Reads every line of a gzip JSONL file. */
export async function* readJsonlGz(store: ObjectStore, file: string, fileBytes: number, batchSize: number): AsyncGenerator<RowBatch> {
  await checkUnchanged(store, file, fileBytes);
  const raw = await store.getStream(file);
  const gunzip = createGunzip();
  raw.on('error', (error) => gunzip.destroy(error));
  raw.pipe(gunzip);
  const batcher = new Batcher(batchSize);
  let lineNumber = 0;
  try {
    for await (const line of splitLines(gunzip)) {
      lineNumber++;
      const parsed = parseJsonLine(line.bytes);
      if (parsed === undefined) continue;
      const location = { file, line: lineNumber };
      const full = 'value' in parsed ? batcher.row({ location, value: parsed.value }) : batcher.reject({ location, reason: parsed.reason });
      if (full) yield full;
    }
  } catch (cause) {
    if (cause instanceof CatalogueError || cause instanceof PlanError) throw cause;
    throw new CatalogueError(
      'GZIP_INVALID',
      `cannot decompress ${store.url}/${file} after line ${lineNumber}: ${(cause as Error).message}; the file is truncated or not gzip`,
      { cause },
    );
  } finally {
    raw.destroy();
  }
  const rest = batcher.flush();
  if (rest) yield rest;
}

async function checkUnchanged(store: ObjectStore, file: string, fileBytes: number): Promise<void> {
  const head = await store.head(file);
  if (head === null) {
    throw new CatalogueError('CATALOGUE_FILE_MISSING', `catalogue file ${store.url}/${file} no longer exists`);
  }
  if (head.size !== fileBytes) {
    throw new PlanError(
      'CATALOGUE_CHANGED',
      `catalogue file ${store.url}/${file} is ${head.size} bytes but the shard plan was made for ${fileBytes}; re-plan the build`,
    );
  }
}

export { checkUnchanged };
