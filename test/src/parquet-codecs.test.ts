import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { prepareBuild } from '@reindex/coordinator';
import { arrowParquetBuffer, type ArrowColumn, type ArrowParquetCodec } from '@reindex/core/testing';
import { allIds, configFor, runBuild, privateRedis, readPublished, tempDir } from './harness.js';

/** Rows shaped like a data warehouse export: string SKUs, LIST<VARCHAR> categories, DOUBLE prices, some NULL titles. */
function warehouseColumns(from: number, rows: number): Record<string, ArrowColumn> {
  const ids = Array.from({ length: rows }, (_, i) => from + i);
  return {
    sku: { type: 'utf8', values: ids.map((i) => `SKU-${String(i).padStart(7, '0')}`) },
    title: {
      type: 'utf8',
      values: ids.map((i) => (i % 97 === 0 ? null : `${['red', 'blue', 'ivory'][i % 3]} cotton ${['shirt', 'gloves', 'scarf', 'socks'][i % 4]} ${i}`)),
    },
    category: { type: 'utf8-list', values: ids.map((i) => ['Clothing', ['Men', 'Women'][i % 2]!, ['Shirts', 'Accessories'][i % 2]!]) },
    brand: { type: 'utf8', values: ids.map((i) => `brand-${i % 40}`) },
    shop: { type: 'utf8', values: ids.map((i) => `shop-${i % 13}`) },
    price: { type: 'float64', values: ids.map((i) => (i % 50) + 0.99) },
  };
}

const CODECS: ArrowParquetCodec[] = ['ZSTD', 'GZIP', 'LZ4_RAW', 'BROTLI', 'LZ4', 'SNAPPY'];
const ROWS_PER_FILE = 1500;

test('a warehouse export in every Parquet codec (written by arrow-rs) builds: each item once under its SKU (NULL titles too: they embed from category, brand and shop)', async (t) => {
  const dir = await tempDir(t);
  const catalogue = path.join(dir, 'export');
  await mkdir(catalogue);
  for (const [n, codec] of CODECS.entries()) {
    await writeFile(
      path.join(catalogue, `data_${n}.parquet`),
      arrowParquetBuffer(warehouseColumns(n * ROWS_PER_FILE, ROWS_PER_FILE), { codec, rowGroupRows: 500 }),
    );
  }
  const redis = await privateRedis(t);
  const total = CODECS.length * ROWS_PER_FILE;
  const { result, store } = await runBuild(t, redis.url, {
    catalogueUrl: catalogue,
    storeUrl: `file://${path.join(dir, 'store')}`,
    shardCount: 4,
    // Titles of 12 word patterns are near-duplicates: the gate is not what this test is about.
    config: { catalogue: { fields: { id: 'sku' } }, index: { quality: { targetRecallAt10: 0.5 } } },
  });
  assert.equal(result.items, total);
  assert.equal(result.rejected, 0);
  const published = await readPublished(t, store);
  const skus = (await allIds(published.index)).map((id) => published.idMap!.lookup(id));
  const expected = Array.from({ length: total }, (_, i) => i).map((i) => `SKU-${String(i).padStart(7, '0')}`);
  assert.deepEqual([...skus].sort(), expected);
});

test('planning reads every file: a Parquet file without the mapped column, or with it of a type that cannot work, fails naming that file', async (t) => {
  const dir = await tempDir(t);
  const storeUrl = `file://${path.join(dir, 'store')}`;
  const withVectors = (from: number): Record<string, ArrowColumn> => ({
    ...warehouseColumns(from, 100),
    vec: { type: 'float32-fixed-list', size: 2, values: Array.from({ length: 100 }, (_, i) => [i, 1]) },
  });
  const cases: Array<{
    name: string;
    columns: Record<string, ArrowColumn>;
    good?: (from: number) => Record<string, ArrowColumn>;
    config: object;
    message: RegExp;
  }> = [
    {
      name: 'no-title',
      columns: (() => {
        const { title: _title, ...rest } = warehouseColumns(9000, 100);
        return rest;
      })(),
      config: { catalogue: { fields: { id: 'sku' } } },
      message:
        /catalogue\.fields\.title is "title", but Parquet file .*export-no-title\/data_3\.parquet has no such column; its columns: sku, category, brand, shop, price/,
    },
    {
      name: 'list-title',
      columns: { ...warehouseColumns(9000, 100), title: { type: 'utf8-list', values: Array.from({ length: 100 }, () => ['a', 'b']) } },
      config: { catalogue: { fields: { id: 'sku' } } },
      message: /catalogue\.fields\.title is "title", but in Parquet file .*export-list-title\/data_3\.parquet it is LIST<STRING>, not a single value per row/,
    },
    {
      name: 'text-vectors',
      columns: { ...warehouseColumns(9000, 100), vec: { type: 'utf8', values: Array.from({ length: 100 }, () => '[1, 2]') } },
      good: withVectors,
      config: { catalogue: { fields: { id: 'sku', embedding: 'vec' } } },
      message: /catalogue\.fields\.embedding is "vec", but in Parquet file .*export-text-vectors\/data_3\.parquet it is STRING, not a list of FLOAT or DOUBLE/,
    },
  ];
  for (const c of cases) {
    const catalogue = path.join(dir, `export-${c.name}`);
    await mkdir(catalogue);
    // Three good files first: a probe of the first rows alone would not see the fourth.
    for (let n = 0; n < 3; n++)
      await writeFile(
        path.join(catalogue, `data_${n}.parquet`),
        arrowParquetBuffer((c.good ?? ((from: number) => warehouseColumns(from, 100)))(n * 100), { codec: 'ZSTD' }),
      );
    await writeFile(path.join(catalogue, 'data_3.parquet'), arrowParquetBuffer(c.columns, { codec: 'ZSTD' }));
    await assert.rejects(prepareBuild(await configFor({ catalogueUrl: catalogue, storeUrl, shardCount: 2, config: c.config })), (error: Error) => {
      assert.equal((error as { code?: string }).code, 'CATALOGUE_FIELDS_INVALID', error.message);
      assert.match(error.message, c.message);
      return true;
    });
  }
});
