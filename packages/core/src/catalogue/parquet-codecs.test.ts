import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { FileMetaData } from 'hyparquet';
import { CatalogueError, PlanError } from '../errors.js';
import { planShards } from '../plan/plan-shards.js';
import { openObjectStore } from '../store/open-object-store.js';
import { arrowParquetBuffer, type ArrowParquetCodec } from '../testing/arrow-parquet.js';
import { openCatalogue } from './catalogue.js';
import type { CatalogueRow } from './catalogue-types.js';
import { PARQUET_CODECS_READ, checkParquetCodecs } from './parquet-reader.js';

const ROWS = 3000;
const columns = {
  sku: { type: 'utf8' as const, values: Array.from({ length: ROWS }, (_, i) => `SKU-${i}`) },
  n: { type: 'int64' as const, values: Array.from({ length: ROWS }, (_, i) => (i % 7 === 0 ? null : BigInt(i) * 1_000_000_007n)) },
  title: { type: 'utf8' as const, values: Array.from({ length: ROWS }, (_, i) => (i % 11 === 0 ? null : `商品 ${i} — cotton shirt ${'x'.repeat(i % 50)}`)) },
  tags: { type: 'utf8-list' as const, values: Array.from({ length: ROWS }, (_, i) => (i % 5 === 0 ? null : ['a', `b${i}`])) },
  vector: { type: 'float32-fixed-list' as const, size: 4, values: Array.from({ length: ROWS }, (_, i) => [i, -i, 0.5, i / 3]) },
  ragged: { type: 'float32-list' as const, values: Array.from({ length: ROWS }, (_, i) => Array.from({ length: i % 4 }, (_, j) => j + 0.25)) },
};

describe('Parquet written by arrow-rs (parquet-wasm), every codec', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'reindex-codecs-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  for (const codec of ['UNCOMPRESSED', 'SNAPPY', 'GZIP', 'BROTLI', 'LZ4', 'ZSTD', 'LZ4_RAW'] as const satisfies readonly ArrowParquetCodec[]) {
    it(`reads ${codec} files row for row, across row groups and shards`, async () => {
      const file = join(dir, `${codec}.parquet`);
      await writeFile(file, arrowParquetBuffer(columns, { codec, rowGroupRows: 1000 }));
      const catalogue = await openCatalogue(file);
      const description = await catalogue.describe();
      assert.deepEqual(description.files[0]!.rowGroupRows, [1000, 1000, 1000]);
      const shape = await catalogue.parquetColumns(description.files[0]!);
      assert.deepEqual(shape.get('vector'), { physicalType: 'FLOAT', list: true, nested: false, codecs: [codec] });
      assert.equal(shape.get('title')?.logicalType, 'STRING');
      const plan = await planShards(catalogue, 4);
      const rows: CatalogueRow[] = [];
      for (const shard of plan.shards) for await (const batch of catalogue.readShard(shard)) rows.push(...batch.rows);
      assert.equal(rows.length, ROWS);
      for (const i of [0, 1, 7, 11, 999, 1000, 2999]) {
        const value = rows[i]!.value;
        assert.equal(value.sku, columns.sku.values[i]);
        assert.equal(value.n, columns.n.values[i] ?? null);
        assert.equal(value.title, columns.title.values[i] ?? null);
        assert.deepEqual(value.tags ?? null, columns.tags.values[i] ?? null, 'a null list reads as missing');
        assert.deepEqual(Array.from(value.vector as number[]), columns.vector.values[i]!.map(Math.fround));
        assert.deepEqual(Array.from(value.ragged as number[]), columns.ragged.values[i]);
      }
      await catalogue.close();
    });
  }

  it('lists what it reads; a codec it cannot read is refused from the footer, naming the file, column and codec', () => {
    assert.deepEqual([...PARQUET_CODECS_READ].sort(), ['BROTLI', 'GZIP', 'LZ4', 'LZ4_RAW', 'SNAPPY', 'UNCOMPRESSED', 'ZSTD']);
    const metadata = {
      row_groups: [{ columns: [{ meta_data: { codec: 'SNAPPY', path_in_schema: ['id'] } }, { meta_data: { codec: 'LZO', path_in_schema: ['title'] } }] }],
    } as unknown as FileMetaData;
    assert.throws(
      () => checkParquetCodecs(openObjectStore(dir), 'old.parquet', metadata),
      (error: Error) => {
        assert.ok(error instanceof CatalogueError);
        assert.equal(error.code, 'PARQUET_CODEC_UNSUPPORTED');
        assert.match(error.message, /old\.parquet: column "title" is compressed with LZO; reindex reads UNCOMPRESSED, SNAPPY/);
        return true;
      },
    );
  });

  it('a Parquet file rewritten after planning, shrunk or grown, is CATALOGUE_CHANGED (not a corrupt footer, not a range error)', async () => {
    const file = join(dir, 'changing.parquet');
    await writeFile(file, arrowParquetBuffer(columns, { rowGroupRows: 1000 }));
    for (const rewrite of [
      { ...columns, sku: { ...columns.sku, values: columns.sku.values.map(() => 'S') } },
      { ...columns, sku: { ...columns.sku, values: columns.sku.values.map((s) => `${s}-longer-than-before`) } },
    ]) {
      const catalogue = await openCatalogue(file);
      const plan = await planShards(catalogue, 2);
      const before = (await catalogue.describe()).files[0]!.bytes;
      await writeFile(file, arrowParquetBuffer(rewrite, { rowGroupRows: 1000 }));
      // A fresh reader, as a worker would open it: nothing cached from before the change.
      const worker = await openCatalogue(file);
      await assert.rejects(
        async () => {
          for await (const batch of worker.readShard(plan.shards[1]!)) void batch;
        },
        (error: Error) => {
          assert.ok(error instanceof PlanError, `${error.name}: ${error.message}`);
          assert.equal(error.code, 'CATALOGUE_CHANGED');
          assert.match(error.message, new RegExp(`changing\\.parquet is \\d+ bytes but the shard plan was made for ${before}`));
          return true;
        },
      );
      await catalogue.close();
      await worker.close();
    }
  });
});
