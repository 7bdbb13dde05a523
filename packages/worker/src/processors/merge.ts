import { mkdir, open, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Job } from 'bullmq';
import {
  IdMapper,
  ID_MAP_CONTENT_TYPE,
  formatLocation,
  withLineNumbers,
  type ObjectStore,
  mergeRecordKey,
  rejectionsKey,
  removedIdsKey,
  trainedIndexKey,
  baseRemovedKey,
  indexVersionPrefix,
  parseIdMap,
  serializeIdMap,
  sha256Buffer,
  sha256File,
  type ManifestFile,
} from '@reindex/core';
import { FaissIndex, mergeOnDisk } from '@reindex/faiss';
import { parseJobData } from '@reindex/queue';
import {
  BuildIntegrityError,
  decodeFingerprints,
  downloadBaseFile,
  readBaseFile,
  readBuildSpec,
  type BuildSpec,
  verifyVersionFiles,
  DATA_FILE,
  ID_MAP_FILE,
  INDEX_FILE,
  FINGERPRINTS_FILE,
  FINGERPRINT_RECORD_BYTES,
  type MergeResult,
  type RejectionReport,
  RejectionTally,
  type ShardStats,
} from '@reindex/pipeline';
import type { WorkerContext } from '../context.js';
import { SHARD_ID_RECORD_BYTES, ShardIdCursor, findCrossShardDuplicates, forEachIdInOrder, resolveCrossShard, type CrossShardResolution } from '../item-ids.js';

interface MergeRecord {
  result: MergeResult;
  /** sha256 of every shard's sub-index it merged, in shard order: a redone shard voids the record. */
  shardIndexes: string[];
}

/** A merge an earlier attempt finished from these same sub-indexes, when every file it names checks out. */
async function finishedMerge(store: ObjectStore, spec: BuildSpec, stats: readonly ShardStats[]): Promise<MergeResult | undefined> {
  const key = mergeRecordKey(spec.buildId);
  if (!(await store.exists(key))) return undefined;
  const { result, shardIndexes } = JSON.parse((await store.get(key)).toString('utf8')) as MergeRecord;
  if (JSON.stringify(shardIndexes) !== JSON.stringify(stats.map((s) => s.index.sha256))) return undefined;
  try {
    await verifyVersionFiles(store, { name: spec.name, version: spec.version, files: result.files });
  } catch {
    return undefined; // a file is missing or differs: merge again
  }
  return result;
}

/**
 * Fan-in: merges every shard's sub-index into one index, in memory when it fits the build's
 * memory budget, on disk otherwise, and uploads it under the version's prefix (LATEST is not
 * touched here: only publish moves it).
 */
export async function processMerge(job: Job, ctx: WorkerContext): Promise<MergeResult> {
  const data = parseJobData('merge', job.data);
  const store = ctx.store(data.storeUrl);
  const spec = await readBuildSpec(store, data.buildId);
  const stats = Object.values(await job.getChildrenValues<ShardStats>()).sort((a, b) => a.shard - b.shard);
  // An attempt after a worker died once the version's files were uploaded: verified, reused.
  const finished = await finishedMerge(store, spec, stats);
  if (finished) return finished;
  const started = Date.now();
  const dir = await ctx.scratch(`${data.buildId}-merge-${job.attemptsMade}`);
  try {
    const trainedPath = path.join(dir, 'trained.index');
    await store.download(trainedIndexKey(data.buildId), trainedPath);
    const parts: string[] = [];
    for (const s of stats) {
      const file = path.join(dir, `shard-${s.shard}.index`);
      await store.download(s.index.path, file);
      if ((await sha256File(file)) !== s.index.sha256)
        throw new BuildIntegrityError(`shard ${s.shard}: sub-index ${s.index.path} does not match its recorded sha256`);
      parts.push(file);
    }
    // Ids held by more than one shard: resolved by the build's rules, losing copies removed
    // from their part before the merge (each part is one shard's sub-index, read whole).
    const idMaps = new Map<number, IdMapper>();
    for (const s of stats) if (s.idMap) idMaps.set(s.shard, parseIdMap(await store.get(s.idMap.path), s.idMap.path));
    const idFiles = await downloadIdFiles(stats, store, dir);
    const crossShard = await resolveIdsAcrossShards(idFiles, spec, idMaps);
    let removed = 0;
    for (const [shard, ids] of crossShard.removals) {
      const file = parts[stats.findIndex((s) => s.shard === shard)]!;
      const part = await FaissIndex.read(file);
      try {
        removed += await part.removeIds(BigInt64Array.from(ids));
        await part.write(file);
      } finally {
        await part.close();
      }
    }
    const partBytes = stats.reduce((sum, s) => sum + s.index.bytes, 0);
    // In memory the merge holds the merged index and one part at a time: within the builder
    // budget. An incremental build starts from the base's index, in memory (planning made sure).
    const mode = spec.incremental || partBytes <= spec.index.builderMemoryBytes ? 'memory' : 'disk';
    const outDir = path.join(dir, 'out');
    await mkdir(outDir, { recursive: true });
    const indexPath = path.join(outDir, INDEX_FILE);

    // Every item's fingerprint, for the next night's build to tell what changed (builds whose
    // shards wrote id files without fingerprints publish none); the same pass lists the items
    // carried over from an incremental build's base.
    const versionFiles = mode === 'memory' ? [INDEX_FILE] : [INDEX_FILE, DATA_FILE];
    const indexedBy = (s: ShardStats) => s.items + (s.incremental?.carried ?? 0);
    const fingerprinted =
      stats.some((s) => indexedBy(s) > 0) &&
      stats.every((s) => indexedBy(s) === 0 || (s.ids !== undefined && s.ids.count > 0 && s.ids.bytes / s.ids.count === SHARD_ID_RECORD_BYTES));
    const carried: bigint[] = [];
    let written: number | undefined;
    if (fingerprinted) {
      written = await writeVersionFingerprints(idFiles, crossShard, path.join(outDir, FINGERPRINTS_FILE), carried);
      versionFiles.push(FINGERPRINTS_FILE);
    }

    let ntotal: number;
    let incremental: MergeResult['incremental'];
    if (mode === 'memory') {
      let merged: FaissIndex;
      if (spec.incremental) {
        // The base's lists, less every item not carried over (changed, deleted, or lost to a
        // duplicate elsewhere), then the new and changed items' sub-indexes.
        const basePath = path.join(dir, 'base.index');
        await downloadBaseFile(store, spec, INDEX_FILE, basePath);
        const { ids: baseIds } = decodeFingerprints(await readBaseFile(store, spec, FINGERPRINTS_FILE), FINGERPRINTS_FILE);
        const fromBase = idsNotIn(baseIds, carried);
        merged = await FaissIndex.read(basePath);
        const dropped = await merged.removeIds(fromBase);
        if (dropped !== fromBase.length || merged.ntotal !== carried.length)
          throw new BuildIntegrityError(
            `base version ${spec.incremental.version}: ${merged.ntotal} items left after removing ${dropped}, ${carried.length} carried over`,
          );
        const removedKey = baseRemovedKey(data.buildId);
        await store.put(removedKey, Buffer.from(fromBase.buffer, fromBase.byteOffset, fromBase.byteLength), { contentType: 'application/octet-stream' });
        incremental = {
          baseVersion: spec.incremental.version,
          carried: carried.length,
          changed: stats.reduce((n, s) => n + (s.incremental?.changed ?? 0), 0),
          added: stats.reduce((n, s) => n + (s.incremental?.added ?? 0), 0),
          removedFromBase: { key: removedKey, count: fromBase.length },
        };
      } else {
        merged = await FaissIndex.read(trainedPath);
      }
      try {
        for (const file of parts) {
          const part = await FaissIndex.read(file);
          await merged.mergeFrom(part);
          await part.close();
        }
        await merged.write(indexPath);
        ntotal = merged.ntotal;
      } finally {
        await merged.close();
      }
    } else {
      ({ ntotal } = await mergeOnDisk({ trainedIndexPath: trainedPath, parts, outIndexPath: indexPath, dataPath: path.join(outDir, DATA_FILE) }));
    }
    const items = stats.reduce((sum, s) => sum + s.items, 0) - removed + carried.length;
    if (removed !== crossShard.rejected.count - crossShard.carriedRejected)
      throw new BuildIntegrityError(
        `the merge removed ${removed} duplicate or colliding copies, expected ${crossShard.rejected.count - crossShard.carriedRejected}`,
      );
    if (ntotal !== items) throw new BuildIntegrityError(`merged index holds ${ntotal} vectors but the shards added ${items}`);
    if (written !== undefined && written !== items) throw new BuildIntegrityError(`the fingerprints file holds ${written} items, the merged index ${items}`);
    const prefix = indexVersionPrefix(spec.name, spec.version);
    const files: ManifestFile[] = [];
    for (const name of versionFiles) {
      const file = path.join(outDir, name);
      files.push({ path: name, bytes: (await stat(file)).size, sha256: await sha256File(file) });
      await store.putFile(`${prefix}${name}`, file);
    }
    let idMap: string | undefined;
    const withIdMaps = stats.filter((s) => s.idMap);
    if (withIdMaps.length > 0) {
      // Merging the shards' maps re-checks collisions across shards.
      const all = new IdMapper();
      for (const s of withIdMaps) {
        const gone = new Set([...(crossShard.removals.get(s.shard) ?? []), ...(crossShard.carriedLost.get(s.shard) ?? [])]);
        for (const [faissId, text] of idMaps.get(s.shard)!.entries()) if (!gone.has(faissId)) all.add(text);
      }
      const body = serializeIdMap(all);
      await store.put(`${prefix}${ID_MAP_FILE}`, body, { contentType: ID_MAP_CONTENT_TYPE });
      files.push({ path: ID_MAP_FILE, bytes: body.length, sha256: sha256Buffer(body) });
      idMap = ID_MAP_FILE;
    }
    // One report of the build's rejections, JSONL locations as line numbers (only the merge
    // sees every shard's byte ranges and how many lines each held).
    const ranges = stats.flatMap((s) => s.jsonlRanges ?? []);
    const examples = [...stats.flatMap((s) => s.rejectedExamples), ...crossShard.rejected.examples].map((r) =>
      r.at ? { ...r, location: formatLocation(withLineNumbers(r.at, ranges)) } : r,
    );
    const rejectedByReason: Record<string, number> = {};
    for (const s of stats) for (const [reason, n] of Object.entries(s.rejectedByReason)) rejectedByReason[reason] = (rejectedByReason[reason] ?? 0) + n;
    for (const [reason, n] of Object.entries(crossShard.rejected.byReason)) rejectedByReason[reason] = (rejectedByReason[reason] ?? 0) + n;
    const rejected = stats.reduce((sum, s) => sum + s.rejected, 0) + crossShard.rejected.count;
    let removedIds: MergeResult['removedIds'];
    if (crossShard.removals.size > 0) {
      // In the store, not in the job's return value: at scale the list is not a small payload.
      const byShard = Object.fromEntries([...crossShard.removals].map(([shard, ids]) => [shard, ids.map(String)]));
      removedIds = { key: removedIdsKey(data.buildId), count: removed };
      await store.put(removedIds.key, Buffer.from(JSON.stringify(byShard)), { contentType: 'application/json' });
    }
    const report: RejectionReport = { buildId: data.buildId, rejected, rejectedByReason, examples: examples.map(({ at: _at, ...r }) => r) };
    await store.put(rejectionsKey(data.buildId), Buffer.from(JSON.stringify(report, null, 2)), { contentType: 'application/json' });
    const result: MergeResult = {
      ntotal,
      items,
      rejected,
      rejectedByReason,
      shards: stats.length,
      mode,
      files,
      ...(crossShard.rejected.count > 0 ? { crossShardRejections: crossShard.rejected.examples } : {}),
      ...(removedIds ? { removedIds } : {}),
      ...(incremental ? { incremental } : {}),
      ...(idMap ? { idMap } : {}),
      shardsStartedAt: stats.map((s) => s.startedAt).sort()[0] ?? new Date().toISOString(),
      shardsFinishedAt:
        stats
          .map((s) => s.finishedAt)
          .sort()
          .at(-1) ?? new Date().toISOString(),
      mergeMs: Date.now() - started,
    };
    // Written last: its presence means every file above is uploaded (as shard stats do).
    const record: MergeRecord = { result, shardIndexes: stats.map((s) => s.index.sha256) };
    await store.put(mergeRecordKey(data.buildId), Buffer.from(JSON.stringify(record)), { contentType: 'application/json' });
    return result;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** A shard's id file, downloaded and checked. */
interface IdFile {
  shard: number;
  path: string;
  files: readonly string[];
  recordBytes: number;
}

/** Downloads every shard's id file (shards without one, from older builds, are left out) and checks it. */
async function downloadIdFiles(stats: readonly ShardStats[], store: ObjectStore, dir: string): Promise<IdFile[]> {
  const out: IdFile[] = [];
  for (const s of stats) {
    if (!s.ids || s.ids.count === 0) continue;
    const file = path.join(dir, `shard-${s.shard}.ids`);
    await store.download(s.ids.path, file);
    if ((await sha256File(file)) !== s.ids.sha256) throw new BuildIntegrityError(`shard ${s.shard}: id file ${s.ids.path} does not match its recorded sha256`);
    out.push({ shard: s.shard, path: file, files: s.ids.files, recordBytes: s.ids.bytes / s.ids.count });
  }
  return out;
}

async function withCursors<T>(idFiles: readonly IdFile[], use: (cursors: ShardIdCursor[]) => Promise<T>): Promise<T> {
  const cursors: ShardIdCursor[] = [];
  try {
    for (const f of idFiles) cursors.push(await ShardIdCursor.open(f.shard, f.path, f.files, f.recordBytes));
    return await use(cursors);
  } finally {
    await Promise.all(cursors.map((c) => c.close()));
  }
}

/**
 * Streams every shard's sorted id file once and resolves each id held by several shards:
 * which shards lose their copy, and the rejections to report.
 */
async function resolveIdsAcrossShards(idFiles: readonly IdFile[], spec: BuildSpec, idMaps: ReadonlyMap<number, IdMapper>): Promise<CrossShardIds> {
  const removals = new Map<number, bigint[]>();
  const carriedLost = new Map<number, Set<bigint>>();
  const rejected = new RejectionTally();
  const result = () => ({ removals, carriedLost, rejected, carriedRejected: [...carriedLost.values()].reduce((n, ids) => n + ids.size, 0) });
  if (idFiles.length < 2) return result();
  const policy = spec.catalogue.duplicateIds ?? 'reject';
  await withCursors(idFiles, (cursors) =>
    findCrossShardDuplicates(cursors, (duplicate) => {
      const resolution: CrossShardResolution = resolveCrossShard(
        duplicate,
        policy,
        idMaps.size > 0 ? (shard) => idMaps.get(shard)?.lookup(duplicate.id) : undefined,
      );
      for (const r of resolution.rejections) {
        rejected.add({ location: r.location, itemId: r.itemId, reason: r.reason, message: r.message });
        // A losing copy carried over from the base is in no sub-index: it leaves with the base's items.
        if (duplicate.copies.find((c) => c.shard === r.shard)?.carried) {
          const lost = carriedLost.get(r.shard) ?? new Set<bigint>();
          carriedLost.set(r.shard, lost);
          lost.add(duplicate.id);
          continue;
        }
        let list = removals.get(r.shard);
        if (!list) {
          list = [];
          removals.set(r.shard, list);
        }
        list.push(duplicate.id);
      }
    }),
  );
  return result();
}

/** What the merge decided about ids held by several shards. */
interface CrossShardIds {
  /** Per shard, the ids whose copy leaves its sub-index. */
  removals: Map<number, bigint[]>;
  /** Per shard, the ids whose losing copy was carried over from the base (in no sub-index). */
  carriedLost: Map<number, Set<bigint>>;
  rejected: RejectionTally;
  /** How many of the rejected copies were carried ones. */
  carriedRejected: number;
}

/** The ids of ascending `all` that are not in ascending `keep` (a merge-join). */
function idsNotIn(all: BigInt64Array, keep: readonly bigint[]): BigInt64Array {
  const out: bigint[] = [];
  let k = 0;
  for (const id of all) {
    while (k < keep.length && keep[k]! < id) k++;
    if (k < keep.length && keep[k] === id) continue;
    out.push(id);
  }
  return BigInt64Array.from(out);
}

/** Records written per write of the fingerprints file. */
const FINGERPRINT_CHUNK_RECORDS = 65_536;

/**
 * Writes the version's fingerprints file (see @reindex/pipeline's FINGERPRINTS_FILE) from the
 * shards' id files in one k-way pass, leaving out the copies the merge removed; returns the
 * records written, and pushes the surviving items carried over from the base onto `carried`
 * (ascending). Memory: one chunk per shard and one output chunk.
 */
async function writeVersionFingerprints(idFiles: readonly IdFile[], crossShard: CrossShardIds, out: string, carried: bigint[]): Promise<number> {
  const removed = new Map([...crossShard.removals].map(([shard, ids]) => [shard, new Set(ids)]));
  for (const [shard, ids] of crossShard.carriedLost) removed.set(shard, new Set([...(removed.get(shard) ?? []), ...ids]));
  const handle = await open(out, 'w');
  let written = 0;
  try {
    let chunk = Buffer.alloc(FINGERPRINT_CHUNK_RECORDS * FINGERPRINT_RECORD_BYTES);
    let used = 0;
    let previous: bigint | undefined;
    await withCursors(idFiles, (cursors) =>
      forEachIdInOrder(cursors, async (cursor) => {
        const id = cursor.id!;
        if (removed.get(cursor.shard)?.has(id)) return;
        if (previous !== undefined && id <= previous) throw new BuildIntegrityError(`faiss id ${id} survives the merge in more than one shard`);
        previous = id;
        if (cursor.carried()) carried.push(id);
        chunk.writeBigInt64LE(id, used);
        chunk.writeBigUInt64LE(cursor.fingerprint()!, used + 8);
        used += FINGERPRINT_RECORD_BYTES;
        written++;
        if (used === chunk.length) {
          await handle.write(chunk, 0, used);
          chunk = Buffer.alloc(chunk.length);
          used = 0;
        }
      }),
    );
    if (used > 0) await handle.write(chunk, 0, used);
  } finally {
    await handle.close();
  }
  return written;
}
