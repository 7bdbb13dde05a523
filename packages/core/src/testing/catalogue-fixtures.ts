/**
 * Writers for small test catalogues. Test-only: hyparquet-writer is a devDependency.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { gzipSync } from 'node:zlib';
import { parquetWriteBuffer } from 'hyparquet-writer';

/** A product-like row with an integer id; field values vary in length like real titles do. */
export function productRow(id: number): Record<string, unknown> {
  return {
    id,
    title: `Product ${id} ${'x'.repeat(id % 37)}`,
    category: `cat-${id % 11}`,
    brand: `brand-${id % 7}`,
    shop: `shop-${id % 3}`,
    price: Math.round(id * 1.37 * 100) / 100,
  };
}

export function productRows(start: number, count: number): Array<Record<string, unknown>> {
  return Array.from({ length: count }, (_, i) => productRow(start + i));
}

/** Writes rows as Parquet with the given row group size (INT64 id, strings, DOUBLE price). */
export async function writeParquetFile(path: string, rows: Array<Record<string, unknown>>, rowGroupSize: number): Promise<void> {
  const buffer = parquetWriteBuffer({
    columnData: [
      { name: 'id', data: rows.map((r) => BigInt(r.id as number)), type: 'INT64' },
      { name: 'title', data: rows.map((r) => r.title as string), type: 'STRING' },
      { name: 'category', data: rows.map((r) => r.category as string), type: 'STRING' },
      { name: 'brand', data: rows.map((r) => r.brand as string), type: 'STRING' },
      { name: 'shop', data: rows.map((r) => r.shop as string), type: 'STRING' },
      { name: 'price', data: rows.map((r) => r.price as number), type: 'DOUBLE' },
    ],
    rowGroupSize,
  });
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, Buffer.from(buffer));
}

/** JSONL text of rows, one per line. */
export function jsonlText(rows: Array<Record<string, unknown>>): string {
  return `${rows.map((r) => JSON.stringify(r)).join('\n')}\n`;
}

export async function writeJsonlFile(path: string, text: string, gzip = false): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, gzip ? gzipSync(Buffer.from(text)) : text);
}
