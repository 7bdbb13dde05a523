import { writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { Field, FixedSizeList, Float32, Float64, Int64, List, Table, Utf8, tableToIPC, vectorFromArray, type DataType, type Vector } from 'apache-arrow';

/**
 * Parquet written by a writer other than reindex's (hyparquet-writer): Apache Arrow's Rust
 * implementation (arrow-rs `parquet` crate, compiled to WebAssembly as the npm package
 * parquet-wasm), so tests read files the way Spark, Polars and DuckDB users hand them over.
 * Needs the devDependencies parquet-wasm and apache-arrow.
 */
export type ArrowParquetCodec = 'UNCOMPRESSED' | 'SNAPPY' | 'GZIP' | 'BROTLI' | 'LZ4' | 'ZSTD' | 'LZ4_RAW';

/** A column: its values (null for missing) and its Arrow type. */
export type ArrowColumn =
  | { type: 'utf8'; values: Array<string | null> }
  | { type: 'int64'; values: Array<bigint | null> }
  | { type: 'float64'; values: Array<number | null> }
  | { type: 'float32-list'; values: Array<number[] | null> }
  | { type: 'float32-fixed-list'; size: number; values: Array<number[] | null> }
  | { type: 'utf8-list'; values: Array<string[] | null> };

export interface ArrowParquetOptions {
  codec?: ArrowParquetCodec;
  /** Rows per row group. Default: one group. */
  rowGroupRows?: number;
}

interface ParquetWasm {
  Table: { fromIPCStream(bytes: Uint8Array): unknown };
  WriterPropertiesBuilder: new () => { setCompression(c: number): ParquetWasmBuilder };
  Compression: Record<ArrowParquetCodec, number>;
  writeParquet(table: unknown, properties: unknown): Uint8Array;
}
interface ParquetWasmBuilder {
  setMaxRowGroupSize(rows: number): ParquetWasmBuilder;
  build(): unknown;
}

function arrowType(column: ArrowColumn): DataType {
  switch (column.type) {
    case 'utf8':
      return new Utf8();
    case 'int64':
      return new Int64();
    case 'float64':
      return new Float64();
    case 'float32-list':
      return new List(new Field('item', new Float32(), true));
    case 'float32-fixed-list':
      return new FixedSizeList(column.size, new Field('item', new Float32(), true));
    case 'utf8-list':
      return new List(new Field('item', new Utf8(), true));
  }
}

/** Encodes the columns as one Parquet file with arrow-rs. */
export function arrowParquetBuffer(columns: Record<string, ArrowColumn>, options: ArrowParquetOptions = {}): Uint8Array {
  // parquet-wasm ships its Node build as CommonJS.
  const wasm = createRequire(import.meta.url)('parquet-wasm/node') as ParquetWasm;
  const vectors: Record<string, Vector> = {};
  for (const [name, column] of Object.entries(columns)) vectors[name] = vectorFromArray(column.values as unknown[], arrowType(column));
  const table = new Table(vectors);
  let builder = new wasm.WriterPropertiesBuilder().setCompression(wasm.Compression[options.codec ?? 'SNAPPY']);
  if (options.rowGroupRows !== undefined) builder = builder.setMaxRowGroupSize(options.rowGroupRows);
  return wasm.writeParquet(wasm.Table.fromIPCStream(tableToIPC(table, 'stream')), builder.build());
}

export async function writeArrowParquetFile(file: string, columns: Record<string, ArrowColumn>, options: ArrowParquetOptions = {}): Promise<void> {
  await writeFile(file, arrowParquetBuffer(columns, options));
}
