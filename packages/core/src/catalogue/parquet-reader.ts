import { isUtf8 } from 'node:buffer';
import { parquetMetadataAsync, parquetReadObjects, type AsyncBuffer, type FileMetaData, type ParquetParsers } from 'hyparquet';
import { CatalogueError, ReindexError } from '../errors.js';
import type { ObjectStore } from '../store/object-store.js';
import { Batcher } from './batcher.js';
import type { RowBatch } from './catalogue-types.js';
import { checkUnchanged } from './jsonl-reader.js';

/** A string cell whose bytes are not UTF-8: hyparquet would decode it to U+FFFD, silently. */
class InvalidUtf8 {
  constructor(readonly bytes: Uint8Array) {}
}
const UTF8 = new TextDecoder();
/** hyparquet's parsers with strings decoded only when they are valid UTF-8. */
const STRICT_PARSERS = {
  stringFromBytes: (bytes: Uint8Array | undefined): string | InvalidUtf8 | undefined =>
    bytes && (isUtf8(bytes) ? UTF8.decode(bytes) : new InvalidUtf8(bytes)),
} as unknown as Partial<ParquetParsers>;

/** Why a row read with STRICT_PARSERS cannot be used as it is (a column of invalid UTF-8), or undefined. */
function invalidUtf8Reason(value: Record<string, unknown>): string | undefined {
  for (const [column, cell] of Object.entries(value)) {
    const bad = cell instanceof InvalidUtf8 ? cell : Array.isArray(cell) ? cell.find((c): c is InvalidUtf8 => c instanceof InvalidUtf8) : undefined;
    if (bad) return `invalid UTF-8 in column "${column}" (starts ${Buffer.from(bad.bytes.subarray(0, 8)).toString('hex')}); the row is not indexed rather than indexed altered`;
  }
  return undefined;
}

/**
 * A hyparquet AsyncBuffer over ranged reads of one object: only the footer and the column chunks
 * of the row groups actually read are fetched, never the whole file.
 */
export function storeAsyncBuffer(store: ObjectStore, file: string, byteLength: number): AsyncBuffer {
  return {
    byteLength,
    async slice(start: number, end?: number): Promise<ArrayBuffer> {
      const stop = Math.min(end ?? byteLength, byteLength);
      if (stop <= start) return new ArrayBuffer(0);
      const bytes = await store.getRange(file, start, stop - 1);
      return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
    },
  };
}

/** Footer of a Parquet file; a truncated or non-Parquet file is a CatalogueError naming it. */
export async function readParquetMetadata(store: ObjectStore, file: string, fileBytes: number): Promise<FileMetaData> {
  try {
    return await parquetMetadataAsync(storeAsyncBuffer(store, file, fileBytes));
  } catch (cause) {
    throw parquetError(store, file, cause);
  }
}

/** Rows per row group, in file order. */
export function rowGroupRows(metadata: FileMetaData): number[] {
  return metadata.row_groups.map((group) => Number(group.num_rows));
}

/**
 * Reads rows [rowStart, rowEnd) one row group at a time, so memory is bounded by a row group
 * (plus one batch), whatever the size of the range.
 */
export async function* readParquetRows(
  store: ObjectStore,
  file: string,
  fileBytes: number,
  metadata: FileMetaData,
  rowStart: number,
  rowEnd: number,
  options: { batchSize: number; columns?: string[] },
): AsyncGenerator<RowBatch> {
  await checkUnchanged(store, file, fileBytes);
  const buffer = storeAsyncBuffer(store, file, fileBytes);
  const batcher = new Batcher(options.batchSize);
  let groupStart = 0;
  for (const groupRows of rowGroupRows(metadata)) {
    const groupEnd = groupStart + groupRows;
    const from = Math.max(groupStart, rowStart);
    const to = Math.min(groupEnd, rowEnd);
    if (from < to) {
      let rows: Record<string, unknown>[];
      try {
        rows = await parquetReadObjects({
          file: buffer,
          metadata,
          rowStart: from,
          rowEnd: to,
          parsers: STRICT_PARSERS,
          ...(options.columns === undefined ? {} : { columns: options.columns }),
        });
      } catch (cause) {
        throw parquetError(store, file, cause, `rows ${from}..${to - 1}`);
      }
      if (rows.length !== to - from) {
        throw new CatalogueError('PARQUET_INVALID', `Parquet file ${store.url}/${file} returned ${rows.length} rows for rows ${from}..${to - 1}; the file is corrupt`);
      }
      for (let i = 0; i < rows.length; i++) {
        const location = { file, row: from + i };
        const invalid = invalidUtf8Reason(rows[i]!);
        const full = invalid === undefined ? batcher.row({ location, value: rows[i]! }) : batcher.reject({ location, reason: invalid });
        if (full) yield full;
      }
    }
    groupStart = groupEnd;
    if (groupStart >= rowEnd) break;
  }
  const rest = batcher.flush();
  if (rest) yield rest;
}

/** Reads exactly the given rows (sorted ascending, all in [0, rows)), one row group at a time. */
export async function readParquetRowsAt(
  store: ObjectStore,
  file: string,
  fileBytes: number,
  metadata: FileMetaData,
  rowIndices: number[],
  columns?: string[],
): Promise<Array<{ row: number; value: Record<string, unknown> }>> {
  const buffer = storeAsyncBuffer(store, file, fileBytes);
  const out: Array<{ row: number; value: Record<string, unknown> }> = [];
  let groupStart = 0;
  let i = 0;
  for (const groupRows of rowGroupRows(metadata)) {
    const groupEnd = groupStart + groupRows;
    const wanted: number[] = [];
    while (i < rowIndices.length && rowIndices[i]! < groupEnd) wanted.push(rowIndices[i++]!);
    if (wanted.length > 0) {
      // Read only the span of wanted rows inside this group.
      const from = wanted[0]!;
      const to = wanted[wanted.length - 1]! + 1;
      let rows: Record<string, unknown>[];
      try {
        rows = await parquetReadObjects({ file: buffer, metadata, rowStart: from, rowEnd: to, parsers: STRICT_PARSERS, ...(columns === undefined ? {} : { columns }) });
      } catch (cause) {
        throw parquetError(store, file, cause, `rows ${from}..${to - 1}`);
      }
      // A sampled row of invalid UTF-8 is left out of the sample; its shard reports it.
      for (const row of wanted) if (invalidUtf8Reason(rows[row - from]!) === undefined) out.push({ row, value: rows[row - from]! });
    }
    groupStart = groupEnd;
    if (i >= rowIndices.length) break;
  }
  return out;
}

function parquetError(store: ObjectStore, file: string, cause: unknown, what?: string): ReindexError {
  // Store failures (network, permission) keep their own code: they are not corruption.
  if (cause instanceof ReindexError) return cause;
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new CatalogueError(
    'PARQUET_INVALID',
    `cannot read Parquet file ${store.url}/${file}${what === undefined ? '' : ` (${what})`}: ${reason}; the file is truncated, corrupt or not Parquet`,
    { cause },
  );
}
