import { isUtf8 } from 'node:buffer';
import {
  parquetMetadataAsync,
  parquetReadObjects,
  parquetSchema,
  type AsyncBuffer,
  type CompressionCodec,
  type FileMetaData,
  type ParquetParsers,
  type SchemaTree,
} from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import { CatalogueError, ReindexError } from '../errors.js';
import type { ObjectStore } from '../store/object-store.js';
import { Batcher } from './batcher.js';
import type { RowBatch } from './catalogue-types.js';

/** A string cell whose bytes are not UTF-8: hyparquet would decode it to U+FFFD, silently. */
class InvalidUtf8 {
  constructor(readonly bytes: Uint8Array) {}
}
const UTF8 = new TextDecoder();
/** hyparquet's parsers with strings decoded only when they are valid UTF-8. */
const STRICT_PARSERS = {
  stringFromBytes: (bytes: Uint8Array | undefined): string | InvalidUtf8 | undefined => bytes && (isUtf8(bytes) ? UTF8.decode(bytes) : new InvalidUtf8(bytes)),
} as unknown as Partial<ParquetParsers>;

/**
 * Codecs whose pages reindex decompresses: hyparquet's own snappy plus hyparquet-compressors
 * (gzip, zstd, brotli, lz4 in Hadoop framing, lz4_raw). LZO, deprecated by Parquet, is not read.
 */
export const PARQUET_CODECS_READ: readonly CompressionCodec[] = ['UNCOMPRESSED', 'SNAPPY', 'GZIP', 'ZSTD', 'BROTLI', 'LZ4', 'LZ4_RAW'];

/** Options every page decode gets: strict UTF-8 and every codec's decompressor. */
const READ_OPTIONS = { parsers: STRICT_PARSERS, compressors };

/**
 * Refuses a file with a column chunk in a codec reindex cannot decompress, naming the file, the
 * column and the codec: found from the footer alone, so at plan time and before any page is read.
 */
export function checkParquetCodecs(store: ObjectStore, file: string, metadata: FileMetaData): void {
  for (const group of metadata.row_groups) {
    for (const chunk of group.columns) {
      const codec = chunk.meta_data?.codec;
      if (codec !== undefined && !PARQUET_CODECS_READ.includes(codec)) {
        throw new CatalogueError(
          'PARQUET_CODEC_UNSUPPORTED',
          `Parquet file ${store.url}/${file}: column "${chunk.meta_data!.path_in_schema.join('.')}" is compressed with ${codec}; reindex reads ${PARQUET_CODECS_READ.join(', ')} (rewrite the file with one of them)`,
        );
      }
    }
  }
}

/** What a top-level Parquet column holds, as far as field mapping cares. */
export interface ParquetColumnShape {
  /** The leaf's physical type (for a list: its elements'). */
  physicalType: string;
  /** STRING/UTF8, DECIMAL, ... when annotated. */
  logicalType?: string;
  /** A LIST (or a repeated field): one value per element. */
  list: boolean;
  /** A group of several fields (a struct or a map): no single value. */
  nested: boolean;
  /** Codecs of its column chunks, sorted. */
  codecs: string[];
}

/** The top-level columns of a file, by name. */
export function parquetColumns(metadata: FileMetaData): Map<string, ParquetColumnShape> {
  const columns = new Map<string, ParquetColumnShape>();
  const codecs = new Map<string, Set<string>>();
  for (const group of metadata.row_groups) {
    for (const chunk of group.columns) {
      const top = chunk.meta_data?.path_in_schema[0];
      if (top !== undefined) codecs.set(top, (codecs.get(top) ?? new Set()).add(chunk.meta_data!.codec));
    }
  }
  for (const top of parquetSchema(metadata).children) {
    let node: SchemaTree = top;
    let list = top.element.repetition_type === 'REPEATED';
    // LIST<T> is group(LIST) > repeated group > element (or the legacy two-level form).
    while (node.children.length === 1) {
      if (node.element.converted_type === 'LIST' || node.element.logical_type?.type === 'LIST' || node.element.repetition_type === 'REPEATED') list = true;
      node = node.children[0]!;
      if (node.element.repetition_type === 'REPEATED') list = true;
    }
    const logical = node.element.logical_type?.type ?? node.element.converted_type;
    columns.set(top.element.name, {
      physicalType: node.element.type ?? 'GROUP',
      ...(logical !== undefined ? { logicalType: logical } : {}),
      list,
      nested: node.children.length > 1,
      codecs: [...(codecs.get(top.element.name) ?? [])].sort(),
    });
  }
  return columns;
}

/** Why a row read with STRICT_PARSERS cannot be used as it is (a column of invalid UTF-8), or undefined. */
function invalidUtf8Reason(value: Record<string, unknown>): string | undefined {
  for (const [column, cell] of Object.entries(value)) {
    const bad = cell instanceof InvalidUtf8 ? cell : Array.isArray(cell) ? cell.find((c): c is InvalidUtf8 => c instanceof InvalidUtf8) : undefined;
    if (bad)
      return `invalid UTF-8 in column "${column}" (starts ${Buffer.from(bad.bytes.subarray(0, 8)).toString('hex')}); the row is not indexed rather than indexed altered`;
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
  let metadata: FileMetaData;
  try {
    metadata = await parquetMetadataAsync(storeAsyncBuffer(store, file, fileBytes));
  } catch (cause) {
    throw parquetError(store, file, cause);
  }
  checkParquetCodecs(store, file, metadata);
  return metadata;
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
          ...READ_OPTIONS,
          ...(options.columns === undefined ? {} : { columns: options.columns }),
        });
      } catch (cause) {
        throw parquetError(store, file, cause, `rows ${from}..${to - 1}`);
      }
      if (rows.length !== to - from) {
        throw new CatalogueError(
          'PARQUET_INVALID',
          `Parquet file ${store.url}/${file} returned ${rows.length} rows for rows ${from}..${to - 1}; the file is corrupt`,
        );
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
        rows = await parquetReadObjects({ file: buffer, metadata, rowStart: from, rowEnd: to, ...READ_OPTIONS, ...(columns === undefined ? {} : { columns }) });
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
