import type { StoreLocation } from '../store/open-object-store.js';
import { stat } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import type { FileMetaData } from 'hyparquet';
import { CatalogueError, PlanError, ReindexError } from '../errors.js';
import { FileObjectStore } from '../store/file-object-store.js';
import type { ListedObject, ObjectStore } from '../store/object-store.js';
import { parseStoreUrl } from '../store/open-object-store.js';
import { S3ObjectStore } from '../store/s3-object-store.js';
import type { S3Options } from '../store/s3-options.js';
import { mapLimit } from '../util/map-limit.js';
import {
  DEFAULT_READ_OPTIONS,
  detectFormat,
  sniffFormat,
  type CatalogueFormat,
  type SkippedFile,
  type CatalogueDescription,
  type CatalogueFileInfo,
  type CatalogueRow,
  type ReadOptions,
  type RowBatch,
} from './catalogue-types.js';
import { checkUnchanged, readJsonlGz, readJsonlRange } from './jsonl-reader.js';
import { parquetColumns, readParquetMetadata, readParquetRows, readParquetRowsAt, rowGroupRows, type ParquetColumnShape } from './parquet-reader.js';
import type { RowRangePart, ShardSpec } from './shard-spec.js';
import { SYNTHETIC_ROWS_PER_GROUP, SyntheticVectors, isSyntheticUrl, parseSyntheticUrl } from './synthetic.js';

export interface OpenCatalogueOptions {
  /** Options for `s3://` catalogues. */
  s3?: S3Options;
  /** Base for relative local paths. Default: `process.cwd()`. */
  cwd?: string;
  /** Parallel footer reads / HEADs while describing. Default 16. */
  metadataConcurrency?: number;
}

/** Defaults of {@link OpenCatalogueOptions}. */
export const DEFAULT_OPEN_CATALOGUE_OPTIONS = {
  metadataConcurrency: 16,
} as const;

/**
 * A set of JSONL / gzip JSONL / Parquet files read through an ObjectStore. Opening lists the
 * files; describe() reads Parquet footers (cached); readShard() streams one shard of a plan.
 */
export class Catalogue {
  private description: Promise<CatalogueDescription> | undefined;
  private readonly footers = new Map<string, Promise<FileMetaData>>();

  constructor(
    /** Where the catalogue is (absolute local path or s3:// URL); recorded in plans and manifests. */
    readonly source: string,
    /** The store the files live in. */
    readonly store: ObjectStore,
    /** Files as listed (key + size), sorted by key. */
    private readonly listed: ListedObject[],
    private readonly metadataConcurrency: number = DEFAULT_OPEN_CATALOGUE_OPTIONS.metadataConcurrency,
    /** A generated catalogue's rows (`synthetic:` URLs): then `listed` names one virtual file and `store` is never read. */
    private readonly generator?: SyntheticVectors,
  ) {}

  /** Files, sizes and (Parquet) row counts from footers. Cached after the first call. */
  describe(): Promise<CatalogueDescription> {
    this.description ??= this.buildDescription();
    return this.description;
  }

  /** Parquet footer of one file (cached). */
  parquetMetadata(file: string, fileBytes: number): Promise<FileMetaData> {
    let footer = this.footers.get(file);
    if (footer === undefined) {
      footer = readParquetMetadata(this.store, file, fileBytes);
      this.footers.set(file, footer);
    }
    return footer;
  }

  /** The top-level columns of one Parquet file, from its (cached) footer. */
  async parquetColumns(file: CatalogueFileInfo): Promise<Map<string, ParquetColumnShape>> {
    return parquetColumns(await this.parquetMetadata(file.file, file.bytes));
  }

  /**
   * The first rows of one file (at most `rows`; a JSONL file's lines that start in its first
   * 64 KiB), decoded as the shards will decode them: a codec, a compression or an encoding that
   * cannot be read fails here with the file named.
   */
  async readFileHead(file: CatalogueFileInfo, rows: number): Promise<RowBatch> {
    const head: RowBatch = { rows: [], rejections: [] };
    const batches =
      file.format === 'parquet'
        ? readParquetRows(this.store, file.file, file.bytes, await this.parquetMetadata(file.file, file.bytes), 0, Math.min(rows, file.rows ?? rows), {
            batchSize: rows,
          })
        : file.format === 'jsonl.gz'
          ? readJsonlGz(this.store, file.file, file.bytes, rows)
          : file.format === 'jsonl'
            ? readJsonlRange(this.store, file.file, file.bytes, 0, Math.min(file.bytes, FILE_HEAD_BYTES), rows)
            : undefined;
    if (batches === undefined) return head;
    try {
      for await (const batch of batches) {
        head.rows.push(...batch.rows);
        head.rejections.push(...batch.rejections);
        if (head.rows.length + head.rejections.length >= rows) break;
      }
    } finally {
      await batches.return(undefined);
    }
    head.rows.splice(rows);
    return head;
  }

  /**
   * The footer of a file a plan was made for, after checking the file still has the planned
   * size: a file rewritten since (grown, shrunk) is CATALOGUE_CHANGED, not a footer read at a
   * stale offset that looks like corruption.
   */
  private async plannedParquetMetadata(file: string, fileBytes: number): Promise<FileMetaData> {
    await checkUnchanged(this.store, file, fileBytes);
    return this.parquetMetadata(file, fileBytes);
  }

  /** Streams the rows of one shard of a plan made for this catalogue, in plan order. */
  async *readShard(shard: ShardSpec, options: ReadOptions = {}): AsyncGenerator<RowBatch> {
    const { batchSize, columns } = { ...DEFAULT_READ_OPTIONS, ...options };
    if (!Number.isSafeInteger(batchSize) || batchSize < 1) {
      throw new PlanError('READ_OPTIONS_INVALID', `batchSize must be a positive integer, got ${batchSize}`);
    }
    for (const part of shard.parts) {
      switch (part.kind) {
        case 'jsonl-range':
          yield* readJsonlRange(this.store, part.file, part.fileBytes, part.start, part.end, batchSize);
          break;
        case 'jsonl-gz':
          yield* readJsonlGz(this.store, part.file, part.fileBytes, batchSize);
          break;
        case 'parquet-rows': {
          const metadata = await this.plannedParquetMetadata(part.file, part.fileBytes);
          yield* readParquetRows(this.store, part.file, part.fileBytes, metadata, part.rowStart, part.rowEnd, {
            batchSize,
            ...(columns === undefined ? {} : { columns }),
          });
          break;
        }
        case 'synthetic-rows':
          for (let row = part.rowStart; row < part.rowEnd; row += batchSize) {
            yield { rows: this.syntheticRows().rows(part.file, row, Math.min(part.rowEnd, row + batchSize)), rejections: [] };
          }
          break;
      }
    }
  }

  /**
   * Rows by number (sorted, within `part`) of a row-addressable part, for samples that must not
   * read a whole shard: only the Parquet row groups holding them are decoded.
   */
  async readRowsAt(part: RowRangePart, rows: number[], columns?: string[]): Promise<CatalogueRow[]> {
    if (part.kind === 'synthetic-rows') {
      const generator = this.syntheticRows();
      return rows.map((row) => generator.rows(part.file, row, row + 1)[0]!);
    }
    const metadata = await this.plannedParquetMetadata(part.file, part.fileBytes);
    const found = await readParquetRowsAt(this.store, part.file, part.fileBytes, metadata, rows, columns);
    return found.map(({ row, value }) => ({ location: { file: part.file, row }, value }));
  }

  private syntheticRows(): SyntheticVectors {
    if (!this.generator) throw new CatalogueError('CATALOGUE_FORMAT_MISMATCH', `${this.source} is not a synthetic catalogue, but its plan has synthetic rows`);
    return this.generator;
  }

  async close(): Promise<void> {
    await this.store.close();
  }

  private async buildDescription(): Promise<CatalogueDescription> {
    if (this.generator) {
      const { items, dim } = this.generator.spec;
      const rowGroupRows: number[] = [];
      for (let left = items; left > 0; left -= SYNTHETIC_ROWS_PER_GROUP) rowGroupRows.push(Math.min(left, SYNTHETIC_ROWS_PER_GROUP));
      // bytes: what the vectors would take as float32, so byte-based estimates stay meaningful.
      const file: CatalogueFileInfo = { file: this.listed[0]!.key, format: 'synthetic', bytes: items * dim * 4, rows: items, rowGroupRows };
      return { source: this.source, files: [file], skipped: [], totalBytes: file.bytes, totalRows: items };
    }
    const skipped: SkippedFile[] = [];
    const detected = await mapLimit(this.listed, this.metadataConcurrency, async (object) => {
      let format = detectFormat(object.key);
      if (format === 'sniff')
        format = object.size === 0 ? { skip: 'empty file' } : sniffFormat(await this.store.getRange(object.key, 0, Math.min(object.size, 64) - 1));
      return { ...object, format };
    });
    const candidates: Array<ListedObject & { format: CatalogueFormat }> = [];
    for (const object of detected) {
      if (typeof object.format === 'object') skipped.push({ file: object.key, reason: object.format.skip });
      else candidates.push({ ...object, format: object.format });
    }
    if (candidates.length === 0) {
      throw new CatalogueError(
        'CATALOGUE_EMPTY',
        `no catalogue files (*.jsonl, *.ndjson, *.jsonl.gz, *.parquet, part-* files) at ${this.source}` +
          (skipped.length > 0 ? `; skipped ${skipped.length} other file(s), e.g. ${skipped[0]!.file} (${skipped[0]!.reason})` : ''),
      );
    }
    const files = await mapLimit(candidates, this.metadataConcurrency, async (c): Promise<CatalogueFileInfo> => {
      const info: CatalogueFileInfo = { file: c.key, format: c.format, bytes: c.size };
      if (c.format === 'parquet') {
        const metadata = await this.parquetMetadata(c.key, c.size);
        info.rowGroupRows = rowGroupRows(metadata);
        info.rows = info.rowGroupRows.reduce((a, b) => a + b, 0);
      }
      return info;
    });
    const description: CatalogueDescription = {
      source: this.source,
      files,
      skipped,
      totalBytes: files.reduce((sum, f) => sum + f.bytes, 0),
    };
    if (files.every((f) => f.rows !== undefined)) description.totalRows = files.reduce((sum, f) => sum + f.rows!, 0);
    return description;
  }
}

/** How much of a JSONL file {@link Catalogue.readFileHead} reads. */
const FILE_HEAD_BYTES = 64 * 1024;

/**
 * Opens a catalogue: a local file or directory (plain path or file:// URL), `s3://bucket/key`
 * naming one object or a prefix of many (directories and prefixes are read recursively), or a
 * generated `synthetic:` catalogue (see synthetic.ts).
 */
export async function openCatalogue(url: string, options: OpenCatalogueOptions = {}): Promise<Catalogue> {
  const concurrency = options.metadataConcurrency ?? DEFAULT_OPEN_CATALOGUE_OPTIONS.metadataConcurrency;
  if (isSyntheticUrl(url)) {
    const generator = new SyntheticVectors(parseSyntheticUrl(url));
    // Nothing is read from a store: the rows are computed (see synthetic.ts).
    return new Catalogue(url, new FileObjectStore(options.cwd ?? process.cwd()), [{ key: 'synthetic', size: 0 }], concurrency, generator);
  }
  let location: StoreLocation;
  try {
    location = parseStoreUrl(url, options.cwd);
  } catch (cause) {
    throw new CatalogueError('CATALOGUE_URL_INVALID', `invalid catalogue URL ${JSON.stringify(url)}: ${(cause as Error).message}`, { cause });
  }
  if (location.scheme === 'file') {
    const info = await stat(location.path).catch((cause: unknown) => {
      throw new CatalogueError('CATALOGUE_NOT_FOUND', `catalogue not found: ${location.path}`, { cause });
    });
    // Record the absolute path: a plan made here is executed by workers with another cwd.
    if (info.isFile()) {
      const store = new FileObjectStore(dirname(location.path));
      return new Catalogue(location.path, store, [{ key: basename(location.path), size: info.size }], concurrency);
    }
    const store = new FileObjectStore(location.path);
    return new Catalogue(location.path, store, await store.listObjects(''), concurrency);
  }
  const store = new S3ObjectStore(location.bucket, '', options.s3);
  try {
    return await openCatalogueInStore(store, location.prefix, { source: url, metadataConcurrency: concurrency });
  } catch (error) {
    await store.close();
    throw error;
  }
}

/**
 * A catalogue at `prefix` inside an already-open store: the object named `prefix` if it exists,
 * else every object under `prefix/` (or the whole store for an empty prefix).
 */
export async function openCatalogueInStore(
  store: ObjectStore,
  prefix: string,
  options: { source?: string; metadataConcurrency?: number } = {},
): Promise<Catalogue> {
  const source = options.source ?? (prefix === '' ? store.url : `${store.url}/${prefix}`);
  const concurrency = options.metadataConcurrency ?? DEFAULT_OPEN_CATALOGUE_OPTIONS.metadataConcurrency;
  let listed: ListedObject[];
  try {
    const single = prefix === '' ? null : await store.head(prefix);
    listed = single !== null ? [{ key: prefix, size: single.size }] : await store.listObjects(prefix === '' ? '' : `${prefix}/`);
  } catch (cause) {
    if (cause instanceof ReindexError) throw cause;
    throw new CatalogueError('CATALOGUE_LIST_FAILED', `cannot list catalogue ${source}: ${(cause as Error).message}`, { cause });
  }
  if (listed.length === 0) throw new CatalogueError('CATALOGUE_NOT_FOUND', `catalogue not found: nothing at ${source}`);
  return new Catalogue(source, store, listed, concurrency);
}
