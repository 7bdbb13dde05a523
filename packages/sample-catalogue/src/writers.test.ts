import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parquetMetadataAsync, parquetReadObjects } from 'hyparquet';
import { asyncBufferFromFile } from 'hyparquet';
import { CatalogueGenerator } from './generator.js';
import { WRITE_CATALOGUE_DEFAULTS, writeCatalogue } from './writers.js';

async function withTemp(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'reindex-sample-catalogue-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('defaults: 100,000 items, JSONL, 50,000-row Parquet row groups', () => {
  assert.deepEqual(WRITE_CATALOGUE_DEFAULTS, { items: 100_000, format: 'jsonl', rowGroupSize: 50_000 });
});

test('JSONL: one valid JSON object per line, equal to the generator items, no temp files left', async () => {
  await withTemp(async (dir) => {
    const file = path.join(dir, 'c.jsonl');
    assert.equal(await writeCatalogue(file, { items: 5003, seed: 3 }), 5003);
    const lines = (await readFile(file, 'utf8')).split('\n');
    assert.equal(lines.pop(), '', 'ends with a newline');
    assert.equal(lines.length, 5003);
    const gen = new CatalogueGenerator({ seed: 3 });
    lines.forEach((line, i) => {
      assert.deepEqual(JSON.parse(line), gen.item(i).item);
    });
    assert.deepEqual(await readdir(dir), ['c.jsonl']);
  });
});

test('Parquet: row groups of rowGroupSize rows, typed columns, values as documented', async () => {
  await withTemp(async (dir) => {
    const file = path.join(dir, 'c.parquet');
    await writeCatalogue(file, { items: 2500, format: 'parquet', rowGroupSize: 1000, seed: 4, oddRate: 0.2 });
    const buffer = await asyncBufferFromFile(file);
    const meta = await parquetMetadataAsync(buffer);
    assert.deepEqual(
      meta.row_groups.map((g) => Number(g.num_rows)),
      [1000, 1000, 500],
    );
    const rows = await parquetReadObjects({ file: buffer });
    assert.equal(rows.length, 2500);
    const gen = new CatalogueGenerator({ seed: 4, oddRate: 0.2 });
    rows.forEach((row, i) => {
      const { item, oddity } = gen.item(i);
      assert.equal(row.id, BigInt(item.id as number));
      assert.equal(row.title, oddity === 'title-number' ? String(item.title) : item.title);
      assert.equal(row.category, oddity === 'category-object' ? null : item.category);
      assert.equal(row.brand, item.brand ?? null);
      assert.equal(row.shop, item.shop);
      assert.equal(row.price, oddity === 'price-invalid' ? null : Number(item.price));
    });
  });
});

test('the CLI writes the requested catalogue and rejects bad arguments', async () => {
  const cli = path.join(path.dirname(fileURLToPath(import.meta.url)), 'cli.js');
  const run = promisify(execFile);
  await withTemp(async (dir) => {
    const file = path.join(dir, 'out.jsonl');
    const { stdout } = await run(process.execPath, [cli, '--items', '1200', '--format', 'jsonl', '--out', file, '--seed', '9']);
    assert.match(stdout, /wrote 1200 items/);
    const first = JSON.parse((await readFile(file, 'utf8')).split('\n')[0]!);
    assert.deepEqual(first, new CatalogueGenerator({ seed: 9 }).item(0).item);
    await assert.rejects(run(process.execPath, [cli, '--items', '10', '--format', 'csv', '--out', file]), /--format must be jsonl or parquet/);
  });
});
