import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManifestError, ObjectStoreError } from '../errors.js';
import { parseLatestPointer, parseManifest, validateManifest, type Manifest } from './manifest.js';
import { buildKey, indexVersionPrefix, latestKey, manifestKey, planKey, shardKey, versionIdFor } from './store-layout.js';

const valid: Manifest = {
  name: 'catalogue',
  version: '20261123T101502Z',
  buildId: 'b-20261123-1',
  createdAt: '2026-11-23T10:15:02.000Z',
  dim: 64,
  metric: 'ip',
  factory: 'IVF1024,PQ32',
  nprobe: 16,
  ntotal: 100_000,
  files: [
    { path: 'index.faiss', bytes: 4_200_000, sha256: 'a'.repeat(64) },
    { path: 'idmap.jsonl', bytes: 3_000_000, sha256: 'b'.repeat(64) },
  ],
  modelBundleHash: `sha256:${'c'.repeat(64)}`,
  catalogue: { source: 's3://bucket/catalogue/', items: 100_000, rejected: 3 },
  stageTimings: { plan: 120, train: 5000 },
  quality: { recallAt10: 0.93 },
  idMap: 'idmap.jsonl',
};

describe('manifest', () => {
  it('accepts a valid manifest (and unknown extra fields) round-tripped through JSON', () => {
    assert.deepEqual(parseManifest(JSON.stringify(valid)), valid);
    assert.equal(validateManifest({ ...valid, extra: { future: true } }).name, 'catalogue');
  });

  it('names every invalid field', () => {
    const bad = { ...valid, dim: 0, metric: 'cosine', files: [{ path: '../x', bytes: 1, sha256: 'nope' }], idMap: 'missing.jsonl' } as unknown;
    assert.throws(
      () => validateManifest(bad, 'indexes/catalogue/v1/manifest.json'),
      (e: unknown) => {
        assert.ok(e instanceof ManifestError);
        for (const m of ['indexes/catalogue/v1/manifest.json', 'dim:', 'metric:', 'files.0.path:', 'files.0.sha256:'])
          assert.ok(e.message.includes(m), `${e.message} should mention ${m}`);
        return true;
      },
    );
    assert.throws(() => validateManifest({ ...valid, idMap: 'other.jsonl' }), /idMap: names other.jsonl, which is not in files/);
    const { ntotal: _omit, ...missing } = valid;
    assert.throws(() => validateManifest(missing), /ntotal/);
    assert.throws(() => parseManifest('{'), /not valid JSON/);
  });

  it('validates the LATEST pointer', () => {
    const latest = { version: valid.version, manifest: manifestKey('catalogue', valid.version), updatedAt: '2026-11-23T10:16:00Z' };
    assert.deepEqual(parseLatestPointer(JSON.stringify(latest)), latest);
    assert.throws(() => parseLatestPointer(JSON.stringify({ ...latest, updatedAt: 'yesterday' })), /updatedAt/);
  });
});

describe('store layout', () => {
  it('builds the contract keys', () => {
    assert.equal(buildKey('b1', 'trained.index'), 'builds/b1/trained.index');
    assert.equal(buildKey('b1', 'shards/3.index'), 'builds/b1/shards/3.index');
    assert.equal(planKey('b1'), 'builds/b1/plan.json');
    assert.equal(shardKey('b1', 7, 'json'), 'builds/b1/shards/7.json');
    assert.equal(indexVersionPrefix('catalogue', 'v2'), 'indexes/catalogue/v2/');
    assert.equal(manifestKey('catalogue', 'v2'), 'indexes/catalogue/v2/manifest.json');
    assert.equal(latestKey('catalogue'), 'indexes/catalogue/LATEST');
  });

  it('rejects segments that would change the layout', () => {
    for (const bad of ['', '..', 'a/b', '.hidden']) {
      assert.throws(
        () => latestKey(bad),
        (e: unknown) => e instanceof ObjectStoreError && e.code === 'INVALID_KEY',
      );
    }
    assert.throws(() => buildKey('b1', '../x'), ObjectStoreError);
    assert.throws(() => shardKey('b1', -1, 'index'), ObjectStoreError);
  });

  it('makes version ids that sort in time order', () => {
    const a = versionIdFor(new Date('2026-11-23T09:59:59.999Z'));
    const b = versionIdFor(new Date('2026-11-23T10:00:00.000Z'));
    assert.equal(b, '20261123T100000Z');
    assert.ok(a < b);
  });
});
