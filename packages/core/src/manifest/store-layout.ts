import { ObjectStoreError } from '../errors.js';

/**
 * Object store layout (contract with the serving fleet, documented in the root README):
 *   builds/<buildId>/plan.json, trained.index, shards/<i>.index, shards/<i>.json, ...
 *   indexes/<name>/<version>/manifest.json + index file(s) (+ id map)
 *   indexes/<name>/LATEST
 * Every key is built here so the layout cannot drift between writers and readers.
 */
const SEGMENT = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

function segment(value: string, what: string): string {
  if (!SEGMENT.test(value)) {
    throw new ObjectStoreError('INVALID_KEY', `${what} ${JSON.stringify(value)} must be letters, digits, ".", "_" or "-", starting with a letter or digit`);
  }
  return value;
}

/** `builds/<buildId>/<parts...>`; parts may contain `/` (e.g. `shards/3.index`). */
export function buildKey(buildId: string, ...parts: string[]): string {
  const rest = parts.flatMap((p) => p.split('/')).map((p) => segment(p, 'build key segment'));
  return ['builds', segment(buildId, 'buildId'), ...rest].join('/');
}

/** `builds/<buildId>/` */
export function buildPrefix(buildId: string): string {
  return `builds/${segment(buildId, 'buildId')}/`;
}

/** `builds/<buildId>/plan.json` */
export function planKey(buildId: string): string {
  return buildKey(buildId, 'plan.json');
}

/** `builds/<buildId>/build.json`: the build spec every job reads. */
export function buildSpecKey(buildId: string): string {
  return buildKey(buildId, 'build.json');
}

/** `builds/<buildId>/trained.index`: the trained, empty index every shard adds to. */
export function trainedIndexKey(buildId: string): string {
  return buildKey(buildId, 'trained.index');
}

/** `builds/<buildId>/train-sample.f32` (count × dim float32, little-endian) and its `.json` record. */
export function trainSampleKeys(buildId: string): { data: string; info: string } {
  return { data: buildKey(buildId, 'train-sample.f32'), info: buildKey(buildId, 'train-sample.json') };
}

/** `builds/<buildId>/quality/queries.f32` (count × dim float32) and its `queries.json` record. */
export function qualityQueriesKeys(buildId: string): { data: string; info: string } {
  return { data: buildKey(buildId, 'quality', 'queries.f32'), info: buildKey(buildId, 'quality', 'queries.json') };
}

/** `builds/<buildId>/quality.json`: the quality stage's report and the gate's verdict. */
export function qualityRecordKey(buildId: string): string {
  return buildKey(buildId, 'quality.json');
}

/** `builds/<buildId>/merge.json`: the merge's result, written after every version file is uploaded. */
export function mergeRecordKey(buildId: string): string {
  return buildKey(buildId, 'merge.json');
}

/** `builds/<buildId>/merge-removed.json`: `{ "<shard>": ["<faiss id>", ...] }`, the ids the merge removed from each shard's part. */
export function removedIdsKey(buildId: string): string {
  return buildKey(buildId, 'merge-removed.json');
}

/** `builds/<buildId>/base-removed.bin`: int64 LE faiss ids an incremental build removed from its base's lists. */
export function baseRemovedKey(buildId: string): string {
  return buildKey(buildId, 'base-removed.bin');
}

/** `builds/<buildId>/rejections.json`: every rejected row counted by reason, with examples. */
export function rejectionsKey(buildId: string): string {
  return buildKey(buildId, 'rejections.json');
}

/** `builds/<buildId>/shards/<i>.<ext>` */
export function shardKey(buildId: string, shardIndex: number, ext: 'index' | 'json' | 'idmap.jsonl' | 'truth.bin' | 'ids'): string {
  if (!Number.isSafeInteger(shardIndex) || shardIndex < 0)
    throw new ObjectStoreError('INVALID_KEY', `shard index must be a non-negative integer, got ${shardIndex}`);
  return buildKey(buildId, 'shards', `${shardIndex}.${ext}`);
}

/** `indexes/<name>/` */
export function indexPrefix(name: string): string {
  return `indexes/${segment(name, 'index name')}/`;
}

/** `indexes/<name>/<version>/` */
export function indexVersionPrefix(name: string, version: string): string {
  return `${indexPrefix(name)}${segment(version, 'version')}/`;
}

/** `indexes/<name>/<version>/manifest.json` */
export function manifestKey(name: string, version: string): string {
  return `${indexVersionPrefix(name, version)}manifest.json`;
}

/** `indexes/<name>/LATEST` */
export function latestKey(name: string): string {
  return `${indexPrefix(name)}LATEST`;
}

/**
 * A sortable version id from a time, e.g. `20261123T101502Z`: lexicographic order is time order,
 * so retention can keep the last K by sorting names.
 */
export function versionIdFor(date: Date): string {
  return date
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}Z$/, 'Z');
}
