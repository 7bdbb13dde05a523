/** Streaming JSONL and Parquet writers of a generated catalogue (constant memory at any size). */
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { once } from 'node:events';
import { ParquetWriter, fileWriter } from 'hyparquet-writer';
import type { GeneratorOptions } from './generator.js';
import { CatalogueGenerator } from './generator.js';

export type CatalogueFormat = 'jsonl' | 'parquet';

export interface WriteCatalogueOptions extends Partial<GeneratorOptions> {
  /** Number of items. Default 100,000 (the bundled sample). */
  items: number;
  format: CatalogueFormat;
  /**
   * Parquet rows per row group. Default 50,000: the shard planner splits Parquet by row groups,
   * so smaller groups allow finer shards; much smaller ones bloat metadata and slow scans.
   */
  rowGroupSize: number;
}

export const WRITE_CATALOGUE_DEFAULTS: Readonly<Omit<WriteCatalogueOptions, keyof GeneratorOptions>> = Object.freeze({
  items: 100_000,
  format: 'jsonl',
  rowGroupSize: 50_000,
});

/**
 * Writes a catalogue to `file` (through a temporary name, renamed at the end, so a reader never
 * sees a truncated catalogue). Returns the number of items written.
 */
export async function writeCatalogue(file: string, options: Partial<WriteCatalogueOptions> = {}): Promise<number> {
  const o = { ...WRITE_CATALOGUE_DEFAULTS, ...options };
  if (!Number.isSafeInteger(o.items) || o.items < 0) throw new RangeError(`items must be a non-negative integer (got ${o.items})`);
  if (!Number.isSafeInteger(o.rowGroupSize) || o.rowGroupSize < 1) throw new RangeError(`rowGroupSize must be a positive integer (got ${o.rowGroupSize})`);
  const gen = new CatalogueGenerator(o);
  await mkdir(path.dirname(path.resolve(file)), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  try {
    if (o.format === 'jsonl') await writeJsonl(tmp, gen, o.items);
    else if (o.format === 'parquet') await writeParquet(tmp, gen, o.items, o.rowGroupSize);
    else throw new RangeError(`format must be "jsonl" or "parquet" (got ${JSON.stringify(o.format)})`);
    await rename(tmp, file);
  } catch (error) {
    await rm(tmp, { force: true });
    throw error;
  }
  return o.items;
}

async function writeJsonl(file: string, gen: CatalogueGenerator, count: number): Promise<void> {
  const out = createWriteStream(file);
  const chunk = 2000;
  for (let start = 0; start < count; start += chunk) {
    let text = '';
    for (const item of gen.items(start, Math.min(count, start + chunk))) text += `${JSON.stringify(item)}\n`;
    if (!out.write(text)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
}

async function writeParquet(file: string, gen: CatalogueGenerator, count: number, rowGroupSize: number): Promise<void> {
  const writer = new ParquetWriter({
    writer: fileWriter(file),
    schema: [
      { name: 'root', num_children: 6 },
      { name: 'id', type: 'INT64', repetition_type: 'REQUIRED' },
      { name: 'title', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' },
      { name: 'category', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' },
      { name: 'brand', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' },
      { name: 'shop', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' },
      { name: 'price', type: 'DOUBLE', repetition_type: 'OPTIONAL' },
    ],
  });
  for (let start = 0; start < count; start += rowGroupSize) {
    const n = Math.min(rowGroupSize, count - start);
    const ids: bigint[] = new Array(n);
    const cols = {
      title: new Array<string | null>(n),
      category: new Array<string | null>(n),
      brand: new Array<string | null>(n),
      shop: new Array<string | null>(n),
    };
    const price: (number | null)[] = new Array(n);
    let k = 0;
    for (const item of gen.items(start, start + n)) {
      ids[k] = BigInt(item.id as number);
      for (const key of ['title', 'category', 'brand', 'shop'] as const) {
        const v = item[key];
        // Fixed schema: numbers as text, objects and absent values as null (see Oddity).
        cols[key][k] = typeof v === 'string' ? v : typeof v === 'number' ? String(v) : null;
      }
      const p = item.price;
      const num = typeof p === 'number' ? p : typeof p === 'string' ? Number(p) : NaN;
      price[k] = Number.isFinite(num) ? num : null;
      k++;
    }
    await writer.write({
      rowGroupSize: n,
      columnData: [
        { name: 'id', data: ids },
        { name: 'title', data: cols.title },
        { name: 'category', data: cols.category },
        { name: 'brand', data: cols.brand },
        { name: 'shop', data: cols.shop },
        { name: 'price', data: price },
      ],
    });
  }
  await writer.finish();
}
