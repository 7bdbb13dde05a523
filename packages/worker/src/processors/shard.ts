import { rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Job } from 'bullmq';
import {
  ID_MAP_CONTENT_TYPE,
  trainedIndexKey,
  formatLocation,
  openCatalogue,
  serializeIdMap,
  sha256Buffer,
  sha256File,
  sha256Stream,
  shardKey,
  type Catalogue,
  type JsonlRangeLines,
  type ObjectStore,
  type ShardSpec,
} from '@reindex/core';

import { JobDataError, parseJobData } from '@reindex/queue';
import type { WorkerContext } from '../context.js';
import {
  BuildIntegrityError,
  ExactTopK,
  FINGERPRINTS_FILE,
  decodeFingerprints,
  readBaseFile,
  type BuildSpec,
  type FingerprintSpec,
  fingerprintSpec,
  itemFingerprint,
  serializeTruth,
  readQualityQueries,
  RejectionTally,
  type ShardStats,
  parseShardStatsRecord,
} from '@reindex/pipeline';
import { SHARD_ID_RECORD_BYTES, ShardIds, encodeShardIds, idPolicyOf } from '../item-ids.js';

/** Rows read from the catalogue per step; the embedder splits them into its own batches. */
const READ_BATCH_ROWS = 2048;
const PROGRESS_INTERVAL_MS = 1000;

/**
 * Embeds one shard's rows and adds them, with their ids, into a copy of the trained index,
 * then uploads the sub-index and its stats. The stats file is written last, so a retry that
 * finds it (with a sub-index of the recorded checksum) returns the finished work unchanged.
 */
export async function processShard(job: Job, ctx: WorkerContext): Promise<ShardStats> {
  const data = parseJobData('shard', job.data);
  const store = ctx.store(data.storeUrl);
  const finished = await finishedShard(store, data.buildId, data.shard);
  // The stats file keeps the first run's account; the job's value says it was reused.
  if (finished) return { ...finished, reused: true };

  const { spec, plan } = await ctx.build(store, data.buildId);
  const shardSpec = plan.shards[data.shard];
  if (!shardSpec) throw new JobDataError(`build ${data.buildId} has ${plan.shards.length} shards, no shard ${data.shard}`);

  const startedAt = new Date().toISOString();
  const trained = await ctx.trainedIndex(data.buildId, (file) => store.download(trainedIndexKey(data.buildId), file));
  const index = await trained.clone();
  const dir = await ctx.scratch(`${data.buildId}-shard-${data.shard}-${job.attemptsMade}`);
  const catalogue = await openCatalogue(spec.catalogue.url, { s3: ctx.options.s3 ?? {} });
  try {
    const embedder = await ctx.embedder(spec);
    const rejected = new RejectionTally();
    const fingerprints = fingerprintSpec(spec.catalogue.fields, spec.model.contentHash, spec.catalogue.normalizeEmbeddings ?? false);
    const ids = new ShardIds(idPolicyOf(spec), spec.catalogue.fields.id, spec.model.dim, (row) => itemFingerprint(row.value, fingerprints));
    const idField = spec.catalogue.fields.id;
    // An incremental build: the rows whose content is the base version's keep the base's codes.
    const carry = spec.incremental ? await carriedIds(store, spec, catalogue, shardSpec, ids, fingerprints) : undefined;
    let items = 0;
    let embedMs = 0;
    let addMs = 0;
    let lastProgress = 0;
    // Exact ground truth of the held-out queries against this shard's items, batch by batch.
    const queries = await readQualityQueries(store, data.buildId);
    const truth = queries && queries.info.count > 0 ? new ExactTopK(queries.vectors, spec.model.dim, spec.index.metric) : undefined;
    let truthMs = 0;
    // Adding batch n into faiss overlaps embedding batch n+1 (both run off the JS thread).
    let pendingAdd: Promise<void> = Promise.resolve();

    const jsonlRanges: JsonlRangeLines[] = [];
    let readMs = 0;
    let featurizeMs = 0;
    let inferenceMs = 0;
    const batches = catalogue.readShard(shardSpec, { batchSize: READ_BATCH_ROWS });
    try {
      for (;;) {
        const tRead = Date.now();
        const next = await batches.next();
        readMs += Date.now() - tRead;
        if (next.done) break;
        const batch = next.value;
        if (batch.rangeLines) jsonlRanges.push(batch.rangeLines);
        for (const r of batch.rejections) {
          rejected.add({ location: formatLocation(r.location), at: r.location, itemId: null, reason: 'malformed-row', message: r.reason });
        }
        let rows = ids.prepare(batch.rows, rejected);
        if (carry) {
          rows = rows.filter((row) => {
            const id = faissIdOf(row.value[idField]);
            if (id === undefined || !carry.carried.has(id)) return true;
            ids.carry(row, id);
            return false;
          });
          if (rows.length === 0) continue;
        }
        const t0 = Date.now();
        const out = await embedder.embed(rows.map((r) => r.value));
        embedMs += Date.now() - t0;
        featurizeMs += out.featurizeMs ?? 0;
        inferenceMs += out.inferenceMs ?? 0;
        const rejectedRows = new Set<number>();
        for (const r of out.rejections) {
          const row = rows[r.index];
          rejectedRows.add(r.index);
          // A string id was replaced by its hash before embedding: report the catalogue's own id.
          const itemId = row?.originalId ?? r.itemId;
          rejected.add({
            location: row ? formatLocation(row.location) : '?',
            ...(row ? { at: row.location } : {}),
            itemId,
            reason: r.reason,
            message: r.message,
          });
        }
        const rowIndex: number[] = [];
        for (let i = 0; i < rows.length; i++) if (!rejectedRows.has(i)) rowIndex.push(i);
        const admitted = ids.admit({ vectors: out.vectors, ids: out.ids, rowIndex }, rows, rejected);
        await pendingAdd;
        const t1 = Date.now();
        pendingAdd = Promise.all([
          index.addWithIds(admitted.vectors, admitted.ids).then(() => {
            addMs += Date.now() - t1;
          }),
          truth?.addBatch(admitted.vectors, admitted.ids).then(() => {
            truthMs += Date.now() - t1;
          }),
        ]).then(() => undefined);
        // Observed now, thrown where it is awaited: a failed add must not become an unhandled
        // rejection (which ends the process) while this loop awaits the next batch.
        pendingAdd.catch(() => undefined);
        items += admitted.ids.length;
        if (Date.now() - lastProgress > PROGRESS_INTERVAL_MS) {
          lastProgress = Date.now();
          await job.updateProgress({ items, rejected: rejected.count, estimatedRows: shardSpec.estimatedRows, workerId: ctx.workerId });
        }
      }
    } finally {
      // As `for await` would: an exception mid-shard closes the reader's files.
      await batches.return(undefined);
    }
    await pendingAdd;
    // Duplicates and collisions found in this shard: the copies that lost leave the sub-index,
    // the copies that won (kept last, or the smaller colliding string) go in.
    const toRemove = ids.idsToRemove();
    if (toRemove.length > 0) {
      items -= await index.removeIds(toRemove);
      await truth?.removeIds(new Set(toRemove));
      const replacements = ids.replacementBatch();
      await index.addWithIds(replacements.vectors, replacements.ids);
      await truth?.addBatch(replacements.vectors, replacements.ids);
      items += replacements.ids.length;
    }
    if (index.ntotal !== items) throw new BuildIntegrityError(`shard ${data.shard}: the sub-index holds ${index.ntotal} vectors, ${items} were admitted`);
    if (truth) {
      const t2 = Date.now();
      await truth.flush();
      truthMs += Date.now() - t2;
    }

    const tUpload = Date.now();
    const indexFile = path.join(dir, 'shard.index');
    await index.write(indexFile);
    const indexEntry = { path: shardKey(data.buildId, data.shard, 'index'), bytes: (await stat(indexFile)).size, sha256: await sha256File(indexFile) };
    await store.putFile(indexEntry.path, indexFile);
    let idMapEntry: ShardStats['idMap'];
    const idMap = ids.idMap();
    if (idMap.size > 0) {
      const body = serializeIdMap(idMap);
      idMapEntry = { path: shardKey(data.buildId, data.shard, 'idmap.jsonl'), bytes: body.length, sha256: sha256Buffer(body) };
      await store.put(idMapEntry.path, body, { contentType: ID_MAP_CONTENT_TYPE });
    }
    // Every indexed id, sorted, with its location: the merge finds ids held by several shards.
    const encodedIds = encodeShardIds(ids.indexed());
    const idsEntry: ShardStats['ids'] = {
      path: shardKey(data.buildId, data.shard, 'ids'),
      bytes: encodedIds.body.length,
      sha256: sha256Buffer(encodedIds.body),
      count: encodedIds.body.length / SHARD_ID_RECORD_BYTES,
      files: encodedIds.files,
    };
    await store.put(idsEntry.path, encodedIds.body, { contentType: 'application/octet-stream' });
    let truthEntry: ShardStats['truth'];
    if (truth) {
      const body = serializeTruth(truth);
      truthEntry = { path: shardKey(data.buildId, data.shard, 'truth.bin'), bytes: body.length, sha256: sha256Buffer(body), queries: truth.count, k: truth.k };
      await store.put(truthEntry.path, body, { contentType: 'application/octet-stream' });
    }
    const uploadMs = Date.now() - tUpload;
    let incremental: ShardStats['incremental'];
    if (carry) {
      // Of the items embedded here, those the base held (with other content) changed; the rest are new.
      const indexed = ids.indexed();
      let changed = 0;
      for (let i = 0; i < indexed.ids.length; i++) if (!indexed.carried(i) && indexOfId(carry.base.ids, indexed.ids[i]!) >= 0) changed++;
      incremental = { carried: ids.carriedCount, changed, added: items - changed };
    }
    const stats: ShardStats = {
      shard: data.shard,
      items,
      rejected: rejected.count,
      rejectedByReason: rejected.byReason,
      rejectedExamples: rejected.examples,
      index: indexEntry,
      ...(idMapEntry ? { idMap: idMapEntry } : {}),
      ids: idsEntry,
      ...(jsonlRanges.length > 0 ? { jsonlRanges } : {}),
      ...(truthEntry ? { truth: truthEntry } : {}),
      ...(incremental ? { incremental } : {}),
      startedAt,
      finishedAt: new Date().toISOString(),
      workerId: ctx.workerId,
      embedMs,
      addMs,
      ...(truth ? { truthMs } : {}),
      readMs,
      featurizeMs: Math.round(featurizeMs),
      inferenceMs: Math.round(inferenceMs),
      uploadMs,
    };
    await job.updateProgress({ items, rejected: rejected.count, estimatedRows: shardSpec.estimatedRows, workerId: ctx.workerId, done: true });
    await store.put(shardKey(data.buildId, data.shard, 'json'), Buffer.from(JSON.stringify(stats)), { contentType: 'application/json' });
    return stats;
  } finally {
    await index.close();
    await catalogue.close();
    await rm(dir, { recursive: true, force: true });
  }
}

/** The stats of a shard finished by an earlier attempt, when its sub-index is intact. */
async function finishedShard(store: ObjectStore, buildId: string, shard: number): Promise<ShardStats | undefined> {
  let stats: ShardStats;
  try {
    const key = shardKey(buildId, shard, 'json');
    stats = parseShardStatsRecord(await store.get(key), `${store.url}/${key}`);
  } catch {
    return undefined;
  }
  const head = await store.head(stats.index.path);
  if (!head || head.size !== stats.index.bytes) return undefined;
  if ((await sha256Stream(await store.getStream(stats.index.path))) !== stats.index.sha256) return undefined;
  return stats;
}

/** The faiss id of a prepared row's id value (string ids are already hashed), if it can be one. */
function faissIdOf(value: unknown): bigint | undefined {
  if (typeof value === 'bigint') return value;
  if (typeof value === 'number' && Number.isSafeInteger(value) && value !== -1) return BigInt(value);
  return undefined;
}

/** Position of `id` in ascending `ids`, or -1. */
function indexOfId(ids: BigInt64Array, id: bigint): number {
  let lo = 0;
  let hi = ids.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const at = ids[mid]!;
    if (at === id) return mid;
    if (at < id) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}

/**
 * An incremental shard's first pass: reads its rows (no embedding), fingerprints them, and
 * returns the ids to carry over: seen once in the shard, with the fingerprint the base version
 * published for them. Memory: the base's fingerprints (16 bytes an item) and this shard's ids.
 */
async function carriedIds(
  store: ObjectStore,
  spec: BuildSpec,
  catalogue: Catalogue,
  shard: ShardSpec,
  ids: ShardIds,
  fingerprints: FingerprintSpec,
): Promise<{ carried: Set<bigint>; base: { ids: BigInt64Array; fingerprints: BigUint64Array } }> {
  const base = decodeFingerprints(await readBaseFile(store, spec, FINGERPRINTS_FILE), FINGERPRINTS_FILE);
  const seen = new Map<bigint, bigint | null>();
  const ignored = new RejectionTally();
  for await (const batch of catalogue.readShard(shard, { batchSize: READ_BATCH_ROWS })) {
    for (const row of ids.prepare(batch.rows, ignored)) {
      const id = faissIdOf(row.value[spec.catalogue.fields.id]);
      if (id !== undefined) seen.set(id, seen.has(id) ? null : itemFingerprint(row.value, fingerprints));
    }
  }
  const carried = new Set<bigint>();
  for (const [id, fingerprint] of seen) {
    if (fingerprint === null) continue;
    const at = indexOfId(base.ids, id);
    if (at >= 0 && base.fingerprints[at] === fingerprint) carried.add(id);
  }
  return { carried, base };
}
