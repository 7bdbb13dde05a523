import assert from 'node:assert/strict';
import { test } from 'node:test';
import { StoredRecordError, parsePlanRecord } from '@reindex/core';
import { parseBuildSpecRecord, parseQualityRecord, parseShardStatsRecord } from './records.js';

const spec = {
  formatVersion: 1,
  buildId: 'b1',
  name: 'catalogue',
  version: 'v1',
  createdAt: '2026-12-03T00:00:00Z',
  storeUrl: 'file:///s',
  catalogue: { url: '/c.jsonl', fields: { id: 'id', title: 'title' } },
  model: { dir: null, contentHash: null, dim: 8 },
  index: { factory: 'IVF16,Flat', nlist: 16, metric: 'ip', nprobe: 4, trainSampleSize: 1000, trainSeed: 1, rationale: ['kept as is'] },
  keepVersions: 3,
};
const bytes = (v: unknown) => Buffer.from(JSON.stringify(v));

test('records read back from the store go through their schema, errors naming the key and the field', () => {
  assert.equal(parseBuildSpecRecord(bytes(spec), 'builds/b1/build.json').index.factory, 'IVF16,Flat');
  const check = (fn: () => unknown, code: string, message: RegExp) =>
    assert.throws(fn, (e: Error) => {
      assert.ok(e instanceof StoredRecordError, e.message);
      assert.equal(e.code, code);
      assert.match(e.message, message);
      return true;
    });
  check(
    () => parseBuildSpecRecord(bytes({ ...spec, formatVersion: 2 }), 'builds/b1/build.json'),
    'RECORD_VERSION_UNKNOWN',
    /builds\/b1\/build\.json has formatVersion 2; this reindex reads formatVersion 1/,
  );
  check(
    () => parseBuildSpecRecord(bytes({ ...spec, model: { dim: 0 } }), 'builds/b1/build.json'),
    'RECORD_INVALID',
    /build\.json is not a valid record: model\.dir: .*model\.dim: /,
  );
  check(() => parseBuildSpecRecord(Buffer.from('{"formatVersion": 1,'), 'builds/b1/build.json'), 'RECORD_INVALID', /build\.json is not valid JSON/);
  check(
    () =>
      parsePlanRecord(
        bytes({
          formatVersion: 1,
          source: 's',
          shardCount: 2,
          createdAt: 'now',
          totals: { files: 1, bytes: 1, estimatedRows: 1, rowsExact: true },
          files: [],
          shards: [{ index: 0, parts: [], estimatedRows: 1, estimatedBytes: 1 }],
        }),
        'builds/b1/plan.json',
      ),
    'RECORD_INVALID',
    /plan\.json .*shards must hold shardCount entries/,
  );
  check(
    () =>
      parseShardStatsRecord(
        bytes({
          shard: 0,
          items: 1,
          rejected: 0,
          rejectedByReason: {},
          rejectedExamples: [],
          index: { path: 'x', bytes: 1, sha256: 'nothex' },
          startedAt: 'a',
          finishedAt: 'b',
          workerId: 'w',
          embedMs: 1,
          addMs: 1,
        }),
        'builds/b1/shards/0.json',
      ),
    'RECORD_INVALID',
    /shards\/0\.json is not a valid record: index\.sha256/,
  );
  check(
    () =>
      parseQualityRecord(
        bytes({
          formatVersion: 1,
          buildId: 'b1',
          name: 'n',
          version: 'v',
          createdAt: 'c',
          report: { nprobe: 4, measureMs: 1 },
          gate: { passed: 'yes', failed: [] },
          merge: { ntotal: 1, items: 1, rejected: 0, files: [] },
          stageTimings: {},
        }),
        'builds/b1/quality.json',
      ),
    'RECORD_INVALID',
    /gate\.passed/,
  );
});
