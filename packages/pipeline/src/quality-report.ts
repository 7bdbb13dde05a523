import { FINGERPRINTS_FILE } from './fingerprints.js';
import { BuildIntegrityError } from './build-spec.js';
import { readBaseFile } from './incremental-base.js';
import path from 'node:path';
import { indexVersionPrefix, qualityQueriesKeys, sha256Buffer, sha256File, shardKey, type ManifestFile, type ObjectStore } from '@reindex/core';
import { FaissIndex } from '@reindex/faiss';
import type { BuildSpec } from './build-spec.js';
import { QUALITY_FILES, type MergeResult } from './job-results.js';
import { ExactTopK, dropIds, chooseNprobe, parseTruth, serializeTruth, sweepNprobe, type SweepRow } from './quality.js';
import { readQualityQueries, type QuerySource } from './quality-queries.js';
import { parseShardStatsRecord } from './records.js';

/** What the manifest's `quality` holds (contract with the serving fleet, see README). */
export interface QualityReport {
  /** False when nothing could be measured (see `skipped`); the recall check then has nothing to judge. */
  measured: boolean;
  skipped?: string;
  /** Held-out queries measured. */
  queries: number;
  querySource?: QuerySource;
  querySourceNote?: string;
  definitions: typeof DEFINITIONS;
  target: { recallAt10: number; latencyBudgetMs: number; maxNprobe?: number; fixedNprobe?: number };
  /** The chosen nprobe (the manifest's `nprobe`). */
  nprobe: number;
  recallAt10?: number;
  recallAt100?: number;
  msPerQuery?: number;
  reachesTarget?: boolean;
  withinBudget?: boolean;
  sweep: SweepRow[];
  measureMs: number;
  /** The version's quality files (QUALITY_FILES), uploaded beside the index; listed in the manifest's `files`. */
  files?: ManifestFile[];
}

export const DEFINITIONS = {
  recallAtK: 'fraction of queries whose exact nearest neighbour (ties included) is among the ANN top k (faiss 1-recall@k); gated at k = 10',
  overlapAtK: 'mean over queries of |ANN top k ∩ exact top k| / k (intersection recall)',
  msPerQuery: 'mean time of one single-query search (k = 10) on the publishing worker, in milliseconds',
  leaveOneOut: "when items' own vectors are the queries (querySource item-embeddings), each query's own item is left out of both the exact and the ANN lists",
} as const;

/**
 * Measures the merged index of a build against the exact top-100 its shards computed: merges the
 * shards' lists, downloads the version's index files, sweeps nprobe and chooses one.
 */
export async function measureQuality(store: ObjectStore, spec: BuildSpec, merge: MergeResult, dir: string): Promise<QualityReport> {
  const started = Date.now();
  const q = spec.quality;
  const target = {
    recallAt10: q?.targetRecallAt10 ?? 0,
    latencyBudgetMs: q?.latencyBudgetMs ?? 0,
    ...(q?.maxNprobe !== undefined ? { maxNprobe: q.maxNprobe } : {}),
    ...(q?.fixedNprobe !== undefined ? { fixedNprobe: q.fixedNprobe } : {}),
  };
  const skipped = (why: string, queries = 0): QualityReport => ({
    measured: false,
    skipped: why,
    queries,
    definitions: DEFINITIONS,
    target,
    nprobe: q?.fixedNprobe ?? spec.index.nprobe,
    sweep: [],
    measureMs: Date.now() - started,
  });
  if (!q) return skipped('the build has no quality settings (written before the quality stage existed)');
  const queries = await readQualityQueries(store, spec.buildId);
  if (!queries) return skipped('the build has no held-out queries');
  const { info } = queries;
  if (info.count === 0) return skipped('no held-out query could be encoded');

  const truth = new ExactTopK(queries.vectors, info.dim, spec.index.metric);
  if (spec.incremental && merge.incremental) {
    // The items carried over were not embedded: their exact neighbours come from the base's
    // lists (the same queries), less every item the build removed from the base. An entry
    // dropped leaves a list shorter than 100; what stays in it is still exact.
    const base = parseTruth(await readBaseFile(store, spec, QUALITY_FILES.truth), QUALITY_FILES.truth);
    if (base.count !== info.count)
      throw new BuildIntegrityError(`base version ${spec.incremental.version}'s exact lists are for ${base.count} queries, this build has ${info.count}`);
    const raw = await store.get(merge.incremental.removedFromBase.key);
    const removed = new BigInt64Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.length));
    truth.fold(dropIds(base, new Set(removed), spec.index.metric));
  }
  const removedFromShards = merge.removedIds ? (JSON.parse((await store.get(merge.removedIds.key)).toString('utf8')) as Record<string, string[]>) : {};
  for (let shard = 0; shard < merge.shards; shard++) {
    const key = shardKey(spec.buildId, shard, 'json');
    const stats = parseShardStatsRecord(await store.get(key), `${store.url}/${key}`);
    if (!stats.truth) return skipped(`shard ${shard} recorded no exact neighbours of the queries`, info.count);
    const lists = parseTruth(await store.get(stats.truth.path), stats.truth.path);
    // Ids the merge took out of this shard's part (duplicates held elsewhere) leave its lists too.
    const removed = removedFromShards[shard];
    truth.fold(removed ? dropIds(lists, new Set(removed.map(BigInt)), spec.index.metric) : lists);
  }

  const prefix = indexVersionPrefix(spec.name, spec.version);
  const files = await publishQualityFiles(store, spec, serializeTruth(truth), prefix);
  // The index file(s) only: the string-id map and the fingerprints play no part in the search.
  for (const file of merge.files.filter((f) => f.path !== merge.idMap && f.path !== FINGERPRINTS_FILE)) {
    const local = path.join(dir, file.path);
    await store.download(`${prefix}${file.path}`, local);
    if ((await sha256File(local)) !== file.sha256) throw new BuildIntegrityError(`${prefix}${file.path} does not match the sha256 the merge recorded`);
  }
  const indexFile = merge.files[0]?.path;
  if (!indexFile) throw new BuildIntegrityError(`build ${spec.buildId}: the merge uploaded no index file`);
  const index = await FaissIndex.read(path.join(dir, indexFile));
  let sweep: SweepRow[];
  try {
    sweep = await sweepNprobe(index, queries.vectors, truth, {
      metric: spec.index.metric,
      nlist: spec.index.nlist,
      latencyBudgetMs: q.latencyBudgetMs,
      ...(info.selfIds ? { selfIds: BigInt64Array.from(info.selfIds, BigInt) } : {}),
      ...(q.maxNprobe !== undefined ? { maxNprobe: q.maxNprobe } : {}),
      ...(q.fixedNprobe !== undefined ? { extra: [q.fixedNprobe] } : {}),
    });
  } finally {
    await index.close();
  }
  const choice = chooseNprobe(sweep, {
    recallAt10: q.targetRecallAt10,
    latencyBudgetMs: q.latencyBudgetMs,
    ...(q.fixedNprobe !== undefined ? { fixedNprobe: q.fixedNprobe } : {}),
  });
  const row = sweep.find((r) => r.nprobe === choice.nprobe)!;
  return {
    measured: true,
    queries: info.count,
    querySource: info.source,
    ...(info.sourceNote ? { querySourceNote: info.sourceNote } : {}),
    definitions: DEFINITIONS,
    target,
    nprobe: choice.nprobe,
    recallAt10: row.recallAt10,
    recallAt100: row.recallAt100,
    msPerQuery: row.msPerQuery,
    reachesTarget: choice.reachesTarget,
    withinBudget: choice.withinBudget,
    sweep,
    measureMs: Date.now() - started,
    files,
  };
}

/** Uploads the build's held-out queries, their record and their exact lists under the version's prefix. */
async function publishQualityFiles(store: ObjectStore, spec: BuildSpec, truth: Buffer, prefix: string): Promise<ManifestFile[]> {
  const keys = qualityQueriesKeys(spec.buildId);
  const bodies: Array<[string, Buffer, string]> = [
    [QUALITY_FILES.queries, await store.get(keys.data), 'application/octet-stream'],
    [QUALITY_FILES.info, await store.get(keys.info), 'application/json'],
    [QUALITY_FILES.truth, truth, 'application/octet-stream'],
  ];
  const files: ManifestFile[] = [];
  for (const [file, body, contentType] of bodies) {
    await store.put(`${prefix}${file}`, body, { contentType });
    files.push({ path: file, bytes: body.length, sha256: sha256Buffer(body) });
  }
  return files;
}
