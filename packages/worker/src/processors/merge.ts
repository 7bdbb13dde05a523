import { mkdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Job } from 'bullmq';
import {
  IdMapper, ID_MAP_CONTENT_TYPE, buildKey, indexVersionPrefix, parseIdMap, serializeIdMap, sha256Buffer, sha256File,
  type ManifestFile,
} from '@reindex/core';
import { FaissIndex, mergeOnDisk } from '@reindex/faiss';
import { parseJobData } from '@reindex/queue';
import { readBuildSpec } from '../build-spec.js';
import type { WorkerContext } from '../context.js';
import type { ShardStats } from '../shard-stats.js';

export interface MergeResult {
  ntotal: number;
  items: number;
  rejected: number;
  rejectedByReason: Record<string, number>;
  shards: number;
  /** `memory` when the merged index fit the memory budget, `disk` otherwise (OnDiskInvertedLists). */
  mode: 'memory' | 'disk';
  /** Files of the version, uploaded under indexes/<name>/<version>/ (paths relative to it). */
  files: ManifestFile[];
  idMap?: string;
  shardsStartedAt: string;
  shardsFinishedAt: string;
  mergeMs: number;
}

/** The published index file names (contract: readers find the data file beside the index). */
export const INDEX_FILE = 'index.faiss';
export const DATA_FILE = 'index.ivfdata';
export const ID_MAP_FILE = 'idmap.jsonl';

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
  const started = Date.now();
  const dir = await ctx.scratch(`${data.buildId}-merge-${job.attemptsMade}`);
  try {
    const trainedPath = path.join(dir, 'trained.index');
    await store.download(buildKey(data.buildId, 'trained.index'), trainedPath);
    const parts: string[] = [];
    for (const s of stats) {
      const file = path.join(dir, `shard-${s.shard}.index`);
      await store.download(s.index.path, file);
      if ((await sha256File(file)) !== s.index.sha256) throw new Error(`shard ${s.shard}: sub-index ${s.index.path} does not match its recorded sha256`);
      parts.push(file);
    }
    const partBytes = stats.reduce((sum, s) => sum + s.index.bytes, 0);
    // In memory the merge holds the merged index and one part at a time: within the builder budget.
    const mode = partBytes <= spec.index.builderMemoryBytes ? 'memory' : 'disk';
    const outDir = path.join(dir, 'out');
    await mkdir(outDir, { recursive: true });
    const indexPath = path.join(outDir, INDEX_FILE);
    let ntotal: number;
    if (mode === 'memory') {
      const merged = await FaissIndex.read(trainedPath);
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
    const items = stats.reduce((sum, s) => sum + s.items, 0);
    if (ntotal !== items) throw new Error(`merged index holds ${ntotal} vectors but the shards added ${items}`);

    const prefix = indexVersionPrefix(spec.name, spec.version);
    const files: ManifestFile[] = [];
    for (const name of mode === 'memory' ? [INDEX_FILE] : [INDEX_FILE, DATA_FILE]) {
      const file = path.join(outDir, name);
      files.push({ path: name, bytes: (await stat(file)).size, sha256: await sha256File(file) });
      await store.putFile(`${prefix}${name}`, file);
    }
    let idMap: string | undefined;
    const withIdMaps = stats.filter((s) => s.idMap);
    if (withIdMaps.length > 0) {
      // Merging the shards' maps re-checks collisions across shards.
      const all = new IdMapper();
      for (const s of withIdMaps) all.merge(parseIdMap(await store.get(s.idMap!.path), s.idMap!.path));
      const body = serializeIdMap(all);
      await store.put(`${prefix}${ID_MAP_FILE}`, body, { contentType: ID_MAP_CONTENT_TYPE });
      files.push({ path: ID_MAP_FILE, bytes: body.length, sha256: sha256Buffer(body) });
      idMap = ID_MAP_FILE;
    }
    const rejectedByReason: Record<string, number> = {};
    for (const s of stats) for (const [reason, n] of Object.entries(s.rejectedByReason)) rejectedByReason[reason] = (rejectedByReason[reason] ?? 0) + n;
    return {
      ntotal, items, rejected: stats.reduce((sum, s) => sum + s.rejected, 0), rejectedByReason, shards: stats.length, mode, files,
      ...(idMap ? { idMap } : {}),
      shardsStartedAt: stats.map((s) => s.startedAt).sort()[0] ?? new Date().toISOString(),
      shardsFinishedAt: stats.map((s) => s.finishedAt).sort().at(-1) ?? new Date().toISOString(),
      mergeMs: Date.now() - started,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
