import assert from 'node:assert/strict';
import { appendFile, mkdtemp, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { BuildFailedError } from '@reindex/coordinator';
import { openObjectStore, type Manifest } from '@reindex/core';
import { buildReferenceBundle } from '@reindex/item-tower';
import { writeCatalogue } from '@reindex/sample-catalogue';
import { QualityGateError, VersionError, publishBuild, readLatest, readQualityRecord } from '@reindex/pipeline';
import { runBuild } from './run.js';
import { searchIndex } from './search.js';
import { indexStatus, rollback } from './versions-cli.js';

const silent = { log: () => undefined, update: () => undefined, clear: () => undefined } as never;
const ITEMS = 3000;

test('the quality gate: a good build publishes with its report, a capped nprobe is stopped, publish --force and rollback never land on a broken version', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'reindex-gate-'));
  try {
    const catalogue = path.join(dir, 'catalogue.jsonl');
    await writeCatalogue(catalogue, { items: ITEMS, format: 'jsonl' });
    const model = path.join(dir, 'model');
    await buildReferenceBundle(model);
    const storeDir = path.join(dir, 'store');
    const build = async (quality: Record<string, unknown>) => {
      const config = path.join(dir, `config-${Date.now()}.json`);
      await writeFile(config, JSON.stringify({ index: { quality: { queries: 300, ...quality } } }));
      return runBuild({ shardCount: 3, workers: 2, catalogue, model, store: storeDir, config, indexFactory: 'IVF32,PQ16', dryRun: false, json: true }, silent);
    };
    const store = openObjectStore(`file://${storeDir}`);
    const manifestOf = async (version: string) =>
      JSON.parse(await readFile(path.join(storeDir, 'indexes/catalogue', version, 'manifest.json'), 'utf8')) as Manifest;
    try {
      // 1. A default build reaches recall@10 >= 0.95 and publishes its sweep and chosen nprobe.
      const good = await build({});
      const v1 = good.version;
      const m1 = await manifestOf(v1);
      const q1 = m1.quality as {
        nprobe: number;
        recallAt10: number;
        queries: number;
        querySource: string;
        sweep: Array<Record<string, number>>;
        gate: { passed: boolean };
      };
      assert.equal(q1.gate.passed, true);
      assert.equal(q1.querySource, 'query-tower');
      assert.ok(q1.queries > 250 && q1.queries <= 300, `queries ${q1.queries}`);
      assert.deepEqual(
        q1.sweep.map((r) => r.nprobe),
        [1, 2, 4, 8, 16, 32].slice(0, q1.sweep.length),
      );
      for (const r of q1.sweep)
        for (const key of ['recallAt10', 'recallAt100', 'overlapAt10', 'overlapAt100', 'msPerQuery']) assert.equal(typeof r[key], 'number', key);
      assert.ok(q1.recallAt10 >= 0.95, `recall@10 ${q1.recallAt10}`);
      assert.equal(m1.nprobe, q1.nprobe);
      assert.equal(good.nprobe, q1.nprobe);
      const smaller = q1.sweep.filter((r) => r.nprobe! < q1.nprobe);
      assert.ok(
        smaller.every((r) => r.recallAt10! < 0.95),
        'the chosen nprobe is the smallest reaching the target',
      );

      // Search returns each probed item for its own title first.
      const rows = (await readFile(catalogue, 'utf8'))
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { id: number; title: string });
      for (const row of [rows[7]!, rows[1234]!, rows[2999]!]) {
        const hits = await searchIndex(store, { text: row.title }, { name: 'catalogue', k: 5 });
        assert.equal(hits[0]?.id, String(row.id), `"${row.title}" finds item ${row.id} first: ${JSON.stringify(hits)}`);
      }

      // 2. nprobe capped at 1: the target is out of reach, the build fails naming why, LATEST stays.
      const failure = await build({ maxNprobe: 1 }).then(
        () => assert.fail('a capped build must not publish'),
        (e: unknown) => e,
      );
      assert.ok(failure instanceof BuildFailedError, String(failure));
      assert.match(failure.message, /quality gate failed \(recall\).*nprobe capped at 1/);
      assert.equal((await readLatest(store, 'catalogue'))?.version, v1);
      const record = await readQualityRecord(store, failure.buildId);
      assert.deepEqual(record.gate.failed, ['recall']);
      const v2 = record.version;
      assert.notEqual(v2, v1);
      await assert.rejects(stat(path.join(storeDir, 'indexes/catalogue', v2, 'manifest.json')), 'no manifest for a gated version');
      await assert.rejects(rollback(store, 'catalogue', v2), (e: unknown) => e instanceof VersionError && e.code === 'VERSION_MISSING');
      // `reindex status` reads both builds' stages from the store: one published, one gated.
      const status = await indexStatus(store, 'catalogue');
      assert.equal(status.latest, v1);
      const gated = status.builds.find((b) => b.buildId === failure.buildId);
      assert.deepEqual(gated && { train: gated.train, done: gated.shardsDone === gated.shardsTotal, quality: gated.quality, published: gated.published }, {
        train: 'trained',
        done: true,
        quality: 'failed: recall',
        published: false,
      });
      assert.ok(status.builds.some((b) => b.buildId !== failure.buildId && b.quality === 'passed' && b.published && b.version === v1));

      // `reindex publish` refuses without --force, naming the check; with it, LATEST moves.
      await assert.rejects(publishBuild(store, failure.buildId), (e: unknown) => e instanceof QualityGateError && /recall: no nprobe reaches/.test(e.message));
      assert.equal((await readLatest(store, 'catalogue'))?.version, v1);
      const forced = await publishBuild(store, failure.buildId, { force: true });
      assert.equal(forced.forced, true);
      assert.equal((await readLatest(store, 'catalogue'))?.version, v2);
      const m2 = await manifestOf(v2);
      assert.equal(m2.nprobe, 1);
      assert.equal((m2.quality as { forced?: boolean }).forced, true);
      assert.equal((m2.quality as { gate: { passed: boolean } }).gate.passed, false);

      // 3. Rollback passes over a damaged version and refuses when none is intact.
      const v1Index = path.join(storeDir, 'indexes/catalogue', v1, 'index.faiss');
      const size = (await stat(v1Index)).size;
      await appendFile(v1Index, Buffer.from([0]));
      await assert.rejects(rollback(store, 'catalogue'), /no intact version older than .*broken: /);
      assert.equal((await readLatest(store, 'catalogue'))?.version, v2);
      await truncate(v1Index, size);
      assert.deepEqual(await rollback(store, 'catalogue'), { from: v2, to: v1 });

      // A forced publish of a version whose files were damaged is refused; LATEST stays.
      await appendFile(path.join(storeDir, 'indexes/catalogue', v2, 'index.faiss'), Buffer.from([0]));
      await assert.rejects(publishBuild(store, failure.buildId, { force: true }), (e: unknown) => e instanceof VersionError && e.code === 'VERSION_BROKEN');
      assert.equal((await readLatest(store, 'catalogue'))?.version, v1);
    } finally {
      await store.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
