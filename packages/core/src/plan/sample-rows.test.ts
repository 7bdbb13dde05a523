import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { openCatalogue } from '../catalogue/catalogue.js';
import { PlanError } from '../errors.js';
import { jsonlText, productRows, writeJsonlFile, writeParquetFile } from '../testing/catalogue-fixtures.js';
import { planShards } from './plan-shards.js';
import { allocate, DEFAULT_SAMPLE_OPTIONS, sampleRows, streamSample } from './sample-rows.js';

describe('sampleRows', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'reindex-sample-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('has documented defaults and allocates quotas by largest remainder', () => {
    assert.deepEqual(DEFAULT_SAMPLE_OPTIONS, { concurrency: 4 });
    assert.deepEqual(allocate(10, [10, 10, 10]), [4, 3, 3]);
    assert.deepEqual(allocate(10, [1, 1, 1]), [1, 1, 1], 'never more than the rows there are');
    assert.deepEqual(allocate(100, [5, 5]), [5, 5]);
    assert.deepEqual(allocate(3, [0, 10, 0]), [0, 3, 0]);
  });

  it('draws a uniform, deterministic sample from every Parquet shard, not the first rows', async () => {
    for (let f = 0; f < 5; f++) await writeParquetFile(join(dir, `p${f}.parquet`), productRows(f * 2000, 2000), 250);
    const catalogue = await openCatalogue(dir);
    const plan = await planShards(catalogue, 10);
    const sample = await sampleRows(catalogue, plan, 1000, 42);
    const ids = sample.map((r) => Number(r.value.id));
    assert.equal(ids.length, 1000);
    assert.equal(new Set(ids).size, 1000, 'no row drawn twice');
    // Each shard holds 1,000 consecutive ids; proportional quotas give each exactly 100.
    const perShard = Array.from({ length: 10 }, (_, s) => ids.filter((id) => Math.floor(id / 1000) === s).length);
    assert.deepEqual(perShard, Array(10).fill(100));
    // Within shards the draw is spread, not the head: mean offset near the middle (499.5).
    const meanOffset = ids.reduce((a, id) => a + (id % 1000), 0) / ids.length;
    assert.ok(meanOffset > 400 && meanOffset < 600, `mean offset ${meanOffset}`);
    for (const row of sample)
      assert.equal(Number(row.value.id), (row.location as { row: number }).row + 2000 * Number((row.location.file.match(/\d/) ?? ['0'])[0]));
    assert.deepEqual(
      (await sampleRows(catalogue, plan, 1000, 42)).map((r) => Number(r.value.id)),
      ids,
    );
    assert.notDeepEqual(
      (await sampleRows(catalogue, plan, 1000, 43)).map((r) => Number(r.value.id)),
      ids,
    );
  });

  it('reservoir-samples JSONL shards across all of them', async () => {
    await writeJsonlFile(join(dir, 'a.jsonl'), jsonlText(productRows(0, 3000)));
    await writeJsonlFile(join(dir, 'b.jsonl.gz'), jsonlText(productRows(3000, 1000)), true);
    const catalogue = await openCatalogue(dir);
    const plan = await planShards(catalogue, 4);
    const sample = await sampleRows(catalogue, plan, 400, 7);
    const ids = sample.map((r) => Number(r.value.id));
    assert.ok(Math.abs(ids.length - 400) <= 4, `sample size ${ids.length}`);
    assert.equal(new Set(ids).size, ids.length);
    for (let q = 0; q < 4; q++) {
      const inQuarter = ids.filter((id) => Math.floor(id / 1000) === q).length;
      assert.ok(inQuarter > 60 && inQuarter < 140, `quarter ${q} got ${inQuarter} of ${ids.length}`);
    }
    assert.ok(
      ids.some((id) => id % 1000 > 900),
      'reaches the tail of shards',
    );
    assert.deepEqual(
      (await sampleRows(catalogue, plan, 400, 7)).map((r) => Number(r.value.id)),
      ids,
    );
  });

  it('returns every row when the sample is larger than the catalogue and validates arguments', async () => {
    await writeParquetFile(join(dir, 'p.parquet'), productRows(0, 30), 7);
    const catalogue = await openCatalogue(dir);
    const plan = await planShards(catalogue, 3);
    const all = await sampleRows(catalogue, plan, 1000, 1);
    assert.deepEqual(
      all.map((r) => Number(r.value.id)).sort((a, b) => a - b),
      Array.from({ length: 30 }, (_, i) => i),
    );
    await assert.rejects(sampleRows(catalogue, plan, 0, 1), PlanError);
    await assert.rejects(sampleRows(catalogue, plan, 10, 1.5), PlanError);
  });

  it('streams the same sample shard by shard, reading at most `concurrency` shards ahead of the consumer', async () => {
    await writeJsonlFile(join(dir, 'items.jsonl'), jsonlText(productRows(0, 6000)));
    const catalogue = await openCatalogue(dir);
    const plan = await planShards(catalogue, 12);
    const started: number[] = [];
    // A view of the catalogue that records when each shard's reading starts.
    const watched = Object.create(catalogue) as typeof catalogue;
    watched.readShard = (shard, options) => {
      started.push(shard.index);
      return catalogue.readShard(shard, options);
    };
    const stream = streamSample(watched, plan, 1200, 5, { concurrency: 2 });
    assert.equal(stream.maxRows, 1200);
    const streamed: number[] = [];
    let consumed = 0;
    for await (const rows of stream.shards) {
      // Holding shard `consumed`: only the next two may have started, so at most 3 shards' rows exist.
      assert.ok(started.length <= consumed + 1 + 2, `shard ${consumed} handed over with ${started.length} shards started`);
      streamed.push(...rows.map((r) => Number(r.value.id)));
      consumed++;
    }
    assert.equal(consumed, 12);
    assert.deepEqual(started, [...Array(12).keys()], 'every shard read once, in order');
    assert.deepEqual(
      streamed,
      (await sampleRows(catalogue, plan, 1200, 5)).map((r) => Number(r.value.id)),
    );
    assert.throws(() => streamSample(catalogue, plan, 0, 5), PlanError);
    await catalogue.close();
  });

  it('a shard that fails while read ahead fails the stream when its turn comes, never as an unhandled rejection', async () => {
    await writeJsonlFile(join(dir, 'items.jsonl'), jsonlText(productRows(0, 2000)));
    const catalogue = await openCatalogue(dir);
    const plan = await planShards(catalogue, 4);
    const broken = Object.create(catalogue) as typeof catalogue;
    broken.readShard = (shard, options) => {
      if (shard.index === 2) throw new Error('shard 2 cannot be read');
      return catalogue.readShard(shard, options);
    };
    const seen: number[] = [];
    await assert.rejects(async () => {
      let i = 0;
      for await (const rows of streamSample(broken, plan, 400, 1, { concurrency: 4 }).shards) {
        seen.push(i++);
        assert.ok(rows.length > 0);
      }
    }, /shard 2 cannot be read/);
    assert.deepEqual(seen, [0, 1]);
    await catalogue.close();
  });
});
