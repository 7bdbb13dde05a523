import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import { CatalogueError, PlanError } from '../errors.js';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { planShards } from '../plan/plan-shards.js';
import { openObjectStore } from '../store/open-object-store.js';
import { productRows, jsonlText, writeJsonlFile, writeParquetFile } from '../testing/catalogue-fixtures.js';
import { startS3TestServer, type S3TestServer } from '../testing/s3-test-server.js';
import { DEFAULT_OPEN_CATALOGUE_OPTIONS, openCatalogue, type Catalogue } from './catalogue.js';
import { DEFAULT_READ_OPTIONS, type CatalogueRow, type Rejection, type RowBatch } from './catalogue-types.js';
import type { ShardSpec } from './shard-spec.js';

async function readAll(
  catalogue: Catalogue,
  shards: ShardSpec[],
  batchSize?: number,
): Promise<{ rows: CatalogueRow[]; rejections: Rejection[]; batches: RowBatch[] }> {
  const rows: CatalogueRow[] = [];
  const rejections: Rejection[] = [];
  const batches: RowBatch[] = [];
  for (const shard of shards) {
    for await (const batch of catalogue.readShard(shard, batchSize === undefined ? {} : { batchSize })) {
      batches.push(batch);
      rows.push(...batch.rows);
      rejections.push(...batch.rejections);
    }
  }
  return { rows, rejections, batches };
}

describe('catalogue readers (local)', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'reindex-catalogue-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('has documented defaults', () => {
    assert.deepEqual(DEFAULT_READ_OPTIONS, { batchSize: 1024 });
    assert.deepEqual(DEFAULT_OPEN_CATALOGUE_OPTIONS, { metadataConcurrency: 16 });
  });

  it('yields malformed JSONL lines as rejections with their location, never dropping them', async () => {
    const text = '{"id":1,"title":"a"}\n{"id":2,"title":\n\n   \n[1,2]\n{"id":3,"title":"ü-é"}\r\n{"id":4}';
    await writeJsonlFile(join(dir, 'items.jsonl'), text);
    const catalogue = await openCatalogue(join(dir, 'items.jsonl'));
    const plan = await planShards(catalogue, 1);
    const { rows, rejections } = await readAll(catalogue, plan.shards);
    assert.deepEqual(
      rows.map((r) => r.value.id),
      [1, 3, 4],
    );
    assert.equal(rows[1]!.value.title, 'ü-é');
    const offsetOf = (needle: string): number => Buffer.byteLength(text.slice(0, text.indexOf(needle)));
    assert.deepEqual(
      rows.map((r) => r.location),
      // partLine: the line's index in the shard's byte range, blank lines counted (line numbers).
      (
        [
          ['{"id":1', 0],
          ['{"id":3', 5],
          ['{"id":4', 6],
        ] as const
      ).map(([n, index]) => ({ file: 'items.jsonl', byteOffset: offsetOf(n), partLine: { start: 0, index } })),
    );
    assert.equal(rejections.length, 2);
    assert.deepEqual(rejections[0]!.location, { file: 'items.jsonl', byteOffset: offsetOf('{"id":2'), partLine: { start: 0, index: 1 } });
    assert.match(rejections[0]!.reason, /invalid JSON/);
    assert.match(rejections[1]!.reason, /expected a JSON object, got an array/);
  });

  it('rejects a Parquet row whose string column is not UTF-8, naming the column', async () => {
    const buffer = parquetWriteBuffer({
      columnData: [
        { name: 'id', data: [1n, 2n, 3n], type: 'INT64' },
        { name: 'title', data: [Buffer.from('café'), Uint8Array.from([0x63, 0x61, 0x66, 0xe9]), Buffer.from('ok')], type: 'BYTE_ARRAY' },
      ],
    });
    await writeFile(join(dir, 'latin1.parquet'), Buffer.from(buffer));
    const catalogue = await openCatalogue(join(dir, 'latin1.parquet'));
    const { rows, rejections } = await readAll(catalogue, (await planShards(catalogue, 1)).shards);
    assert.deepEqual(
      rows.map((r) => r.value.title),
      ['café', 'ok'],
    );
    assert.deepEqual(
      rejections.map((r) => r.location),
      [{ file: 'latin1.parquet', row: 1 }],
    );
    assert.match(rejections[0]!.reason, /invalid UTF-8 in column "title" \(starts 636166e9\)/);
  });

  it('keeps every digit of integers beyond 2^53 (JSON.parse would round two ids into one)', async () => {
    const text =
      '{"id":9007199254740993,"title":"a"}\n{"id":9007199254740992,"title":"b"}\n{"meta":{"id":1},"id":12345678901234567890,"price":1e400}\n{"id":7}\n';
    await writeFile(join(dir, 'items.jsonl'), text);
    const catalogue = await openCatalogue(join(dir, 'items.jsonl'));
    const { rows } = await readAll(catalogue, (await planShards(catalogue, 1)).shards);
    assert.deepEqual(
      rows.map((r) => r.value.id),
      [9007199254740993n, 9007199254740992n, 12345678901234567890n, 7],
    );
    assert.equal(rows[2]!.value.price, Infinity, 'non-integers are left as parsed (the featurizer names them)');
  });

  it('rejects a line of invalid UTF-8 instead of indexing a silently altered title', async () => {
    const good = Buffer.from('{"id":1,"title":"caf\u00e9"}\n');
    const bad = Buffer.concat([Buffer.from('{"id":2,"title":"caf'), Buffer.from([0xe9]), Buffer.from('"}\n')]); // Latin-1 é
    const overlong = Buffer.concat([Buffer.from('{"id":3,"title":"'), Buffer.from([0xc0, 0xaf]), Buffer.from('"}\n')]);
    await writeFile(join(dir, 'items.jsonl'), Buffer.concat([good, bad, overlong]));
    const catalogue = await openCatalogue(join(dir, 'items.jsonl'));
    const { rows, rejections } = await readAll(catalogue, (await planShards(catalogue, 1)).shards);
    assert.deepEqual(
      rows.map((r) => r.value.title),
      ['café'],
    );
    assert.equal(rejections.length, 2);
    assert.deepEqual(rejections[0]!.location, { file: 'items.jsonl', byteOffset: good.length, partLine: { start: 0, index: 1 } });
    assert.match(rejections[0]!.reason, /invalid UTF-8 \(bytes e9227d at byte 20 of the line\)/);
    assert.match(rejections[1]!.reason, /invalid UTF-8 \(bytes c0af.* at byte 17 of the line\)/);
  });

  it('reads a directory of Parquet files by row range and reports row groups from footers', async () => {
    await writeParquetFile(join(dir, 'a.parquet'), productRows(0, 250), 100);
    await writeParquetFile(join(dir, 'sub', 'b.parquet'), productRows(250, 50), 20);
    await writeFile(join(dir, '_SUCCESS'), '');
    await writeFile(join(dir, 'README.txt'), 'not data');
    const catalogue = await openCatalogue(dir);
    const description = await catalogue.describe();
    assert.deepEqual(
      description.files.map((f) => [f.file, f.rows, f.rowGroupRows]),
      [
        ['a.parquet', 250, [100, 100, 50]],
        ['sub/b.parquet', 50, [20, 20, 10]],
      ],
    );
    assert.equal(description.totalRows, 300);
    assert.deepEqual(
      description.skipped.map((f) => f.file),
      ['README.txt', '_SUCCESS'],
    );
    assert.match(description.skipped[0]!.reason, /extension \.txt is not a catalogue format/);
    assert.match(description.skipped[1]!.reason, /marker file/);
    const bytes = description.files[0]!.bytes;
    const shard: ShardSpec = {
      index: 0,
      estimatedRows: 0,
      estimatedBytes: 0,
      parts: [{ kind: 'parquet-rows', file: 'a.parquet', fileBytes: bytes, rowStart: 95, rowEnd: 205 }],
    };
    const { rows, batches } = await readAll(catalogue, [shard], 32);
    assert.deepEqual(
      rows.map((r) => Number(r.value.id)),
      Array.from({ length: 110 }, (_, i) => 95 + i),
    );
    assert.equal(typeof rows[0]!.value.id, 'bigint', 'INT64 ids stay exact');
    assert.deepEqual(rows[0]!.location, { file: 'a.parquet', row: 95 });
    assert.ok(batches.every((b) => b.rows.length <= 32));
    const projected: CatalogueRow[] = [];
    for await (const batch of catalogue.readShard(shard, { columns: ['id', 'title'] })) projected.push(...batch.rows);
    assert.deepEqual(Object.keys(projected[0]!.value).sort(), ['id', 'title']);
  });

  it('names a truncated Parquet file in a CatalogueError', async () => {
    const path = join(dir, 'broken.parquet');
    await writeParquetFile(path, productRows(0, 100), 50);
    await truncate(path, 300);
    const catalogue = await openCatalogue(dir);
    await assert.rejects(catalogue.describe(), (e: unknown) => {
      assert.ok(e instanceof CatalogueError);
      assert.equal(e.code, 'PARQUET_INVALID');
      assert.ok(e.message.includes('broken.parquet'), e.message);
      return true;
    });
  });

  it('names a Parquet file whose column data is corrupt when its rows are read', async () => {
    const path = join(dir, 'corrupt.parquet');
    await writeParquetFile(path, productRows(0, 200), 100);
    const bytes = await readFile(path);
    bytes.fill(0xff, 4, 400); // clobber the first column chunk, keep the footer intact
    await writeFile(path, bytes);
    const catalogue = await openCatalogue(path);
    const plan = await planShards(catalogue, 1);
    await assert.rejects(readAll(catalogue, plan.shards), (e: unknown) => e instanceof CatalogueError && e.message.includes('corrupt.parquet'));
  });

  it('reads gzip JSONL whole and names a truncated gzip file', async () => {
    await writeJsonlFile(join(dir, 'ok.jsonl.gz'), jsonlText(productRows(0, 500)), true);
    const catalogue = await openCatalogue(join(dir, 'ok.jsonl.gz'));
    const plan = await planShards(catalogue, 1);
    const { rows } = await readAll(catalogue, plan.shards);
    assert.equal(rows.length, 500);
    assert.deepEqual(rows[499]!.location, { file: 'ok.jsonl.gz', line: 500 });

    const gz = await readFile(join(dir, 'ok.jsonl.gz'));
    await writeFile(join(dir, 'cut.jsonl.gz'), gz.subarray(0, gz.length - 40));
    const cut = await openCatalogue(join(dir, 'cut.jsonl.gz'));
    const cutPlan = await planShards(cut, 1);
    await assert.rejects(
      readAll(cut, cutPlan.shards),
      (e: unknown) => e instanceof CatalogueError && e.code === 'GZIP_INVALID' && e.message.includes('cut.jsonl.gz'),
    );
  });

  it('refuses to read a file that changed since the plan was made', async () => {
    await writeJsonlFile(join(dir, 'items.jsonl'), jsonlText(productRows(0, 100)));
    const catalogue = await openCatalogue(dir);
    const plan = await planShards(catalogue, 2);
    await writeJsonlFile(join(dir, 'items.jsonl'), jsonlText(productRows(0, 101)));
    await assert.rejects(
      readAll(catalogue, plan.shards),
      (e: unknown) => e instanceof PlanError && e.code === 'CATALOGUE_CHANGED' && e.message.includes('items.jsonl'),
    );
  });

  it('reads Spark-style part files (.json, .json.gz, no extension) by their content and lists every skipped file with why', async () => {
    await writeJsonlFile(join(dir, 'out', 'part-00000-1b2c-c000.json'), jsonlText(productRows(0, 10)));
    await writeJsonlFile(join(dir, 'out', 'part-00001-1b2c-c000.json.gz'), jsonlText(productRows(10, 10)), true);
    await writeJsonlFile(join(dir, 'out', 'part-00002-1b2c-c000'), jsonlText(productRows(20, 10)));
    await writeParquetFile(join(dir, 'out', 'part-00003'), productRows(30, 10), 5);
    await writeFile(join(dir, 'out', 'part-00004'), 'id,title\n1,x\n');
    await writeJsonlFile(join(dir, 'out', '.hidden.jsonl'), jsonlText(productRows(40, 3)));
    await writeFile(join(dir, 'out', 'notes.json'), '{"a": 1}');
    await writeFile(join(dir, 'out', 'README.txt'), 'docs');
    const catalogue = await openCatalogue(join(dir, 'out'));
    const description = await catalogue.describe();
    assert.deepEqual(
      description.files.map((f) => [f.file, f.format]),
      [
        ['part-00000-1b2c-c000.json', 'jsonl'],
        ['part-00001-1b2c-c000.json.gz', 'jsonl.gz'],
        ['part-00002-1b2c-c000', 'jsonl'],
        ['part-00003', 'parquet'],
      ],
    );
    const skipped = Object.fromEntries(description.skipped.map((f) => [f.file, f.reason]));
    assert.deepEqual(Object.keys(skipped).sort(), ['.hidden.jsonl', 'README.txt', 'notes.json', 'part-00004']);
    assert.match(skipped['.hidden.jsonl']!, /hidden file/);
    assert.match(skipped['notes.json']!, /extension \.json is not a catalogue format/);
    assert.match(skipped['part-00004']!, /not JSON lines, gzip or Parquet \(starts with "id,title/);
    const plan = await planShards(catalogue, 2);
    assert.deepEqual(plan.skipped?.map((f) => f.file).sort(), Object.keys(skipped).sort(), 'the plan lists them too');
    const { rows } = await readAll(catalogue, plan.shards, 64);
    assert.deepEqual(
      rows.map((r) => Number(r.value.id)).sort((a, b) => a - b),
      Array.from({ length: 40 }, (_, i) => i),
    );
    await catalogue.close();
  });

  it('explains empty and missing catalogues', async () => {
    await writeFile(join(dir, 'notes.csv'), 'a,b');
    const catalogue = await openCatalogue(dir);
    await assert.rejects(catalogue.describe(), (e: unknown) => e instanceof CatalogueError && e.code === 'CATALOGUE_EMPTY' && e.message.includes('notes.csv'));
    await assert.rejects(openCatalogue(join(dir, 'nope')), (e: unknown) => e instanceof CatalogueError && e.code === 'CATALOGUE_NOT_FOUND');
  });
});

describe('catalogue readers (s3://)', () => {
  let server: S3TestServer;
  let dir: string;
  before(async () => {
    server = await startS3TestServer(['catalogue-bucket']);
    dir = await mkdtemp(join(tmpdir(), 'reindex-catalogue-s3-'));
  });
  after(async () => {
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('plans and reads a multi-file catalogue under a prefix via ranged reads, every row once', async () => {
    const store = openObjectStore('s3://catalogue-bucket/exports/2026-11-23', { s3: server.s3Options });
    await writeParquetFile(join(dir, 'p.parquet'), productRows(0, 300), 64);
    await store.putFile('part-000.parquet', join(dir, 'p.parquet'));
    await store.put('part-001.jsonl', Buffer.from(jsonlText(productRows(300, 200))));
    await store.put('part-002.jsonl.gz', Buffer.from(await import('node:zlib').then((z) => z.gzipSync(jsonlText(productRows(500, 100))))));
    await store.close();

    const catalogue = await openCatalogue('s3://catalogue-bucket/exports/2026-11-23', { s3: server.s3Options });
    const plan = await planShards(catalogue, 5);
    assert.equal(plan.shards.length, 5);
    assert.equal(plan.source, 's3://catalogue-bucket/exports/2026-11-23');
    const { rows, rejections } = await readAll(catalogue, plan.shards);
    assert.equal(rejections.length, 0);
    assert.deepEqual(
      rows.map((r) => Number(r.value.id)).sort((a, b) => a - b),
      Array.from({ length: 600 }, (_, i) => i),
    );
    await catalogue.close();

    const single = await openCatalogue('s3://catalogue-bucket/exports/2026-11-23/part-001.jsonl', { s3: server.s3Options });
    assert.deepEqual(
      (await single.describe()).files.map((f) => f.file),
      ['exports/2026-11-23/part-001.jsonl'],
    );
    await single.close();
  });
});
