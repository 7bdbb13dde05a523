import { readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Job } from 'bullmq';
import {
  INDEX_PARAM_RULE,
  PlanError,
  openCatalogue,
  qualityQueriesKeys,
  sha256File,
  trainSampleKeys,
  trainedIndexKey,
  streamSample,
  type ObjectStore,
} from '@reindex/core';
import { FaissIndex, type TrainOptions } from '@reindex/faiss';
import { parseJobData } from '@reindex/queue';
import {
  BuildIntegrityError,
  FINGERPRINTS_FILE,
  INDEX_FILE,
  QUALITY_FILES,
  type BuildQueues,
  readBuildSpec,
  readPlan,
  writeBuildSpec,
  type BuildSpec,
  readQualityQueries,
  type TrainResult,
  decodeFingerprints,
  downloadBaseFile,
  readBaseFile,
} from '@reindex/pipeline';
import type { WorkerContext } from '../context.js';
import { prepareQualityQueries } from '../quality-queries.js';
import { embedInto } from './embed-rows.js';

/**
 * Trains the build's IVF-PQ index once, on a uniform random sample drawn across all shards,
 * uploads the trained empty index, then fans the build out into its shard jobs.
 */
export async function processTrain(job: Job, ctx: WorkerContext, queues: BuildQueues): Promise<TrainResult> {
  const data = parseJobData('train', job.data);
  const started = Date.now();
  const store = ctx.store(data.storeUrl);
  let spec = await readBuildSpec(store, data.buildId);
  const plan = await readPlan(store, data.buildId);
  const trainedKey = trainedIndexKey(data.buildId);
  let result: TrainResult | undefined;

  // A retry after the upload (e.g. the fan-out failed) reuses the trained index.
  const existing = await store.head(trainedKey);
  if (!existing && spec.incremental) {
    result = await trainFromBase(store, spec, ctx, `train-${data.buildId}-${job.attemptsMade}`);
  } else if (!existing) {
    const catalogue = await openCatalogue(spec.catalogue.url, { s3: ctx.options.s3 ?? {} });
    const dir = await ctx.scratch(`train-${data.buildId}-${job.attemptsMade}`);
    try {
      // An attempt after a worker died finds the embedded sample in the store and goes straight
      // to k-means: a stall costs one attempt's k-means, not the sampling and embedding again.
      let checkpoint = await readTrainSample(store, data.buildId, spec.model.dim, dir);
      const sampleResumed = checkpoint !== undefined;
      if (checkpoint) {
        await job.updateProgress({ stage: 'train', step: 'sample', sampled: checkpoint.sampled, embedded: checkpoint.count, resumed: true });
      } else {
        // The sample streams shard by shard into one Float32Array: rows never pile up as JS objects.
        const sample = streamSample(catalogue, plan, spec.index.trainSampleSize, spec.index.trainSeed);
        const vectors = new Float32Array(sample.maxRows * spec.model.dim);
        const embedder = await ctx.embedder(spec);
        let sampled = 0;
        let count = 0;
        for await (const rows of sample.shards) {
          count += await embedInto(
            embedder,
            rows.map((r) => r.value),
            spec,
            vectors,
            count,
          );
          sampled += rows.length;
          await job.updateProgress({ stage: 'train', step: 'sample', sampled, embedded: count, sampleSize: sample.maxRows });
        }
        checkpoint = { vectors: vectors.subarray(0, count * spec.model.dim), count, sampled };
        if (count > 0) await writeTrainSample(store, data.buildId, checkpoint, dir);
      }
      const { vectors, count, sampled } = checkpoint;
      if (count === 0)
        throw new PlanError(
          'TRAIN_SAMPLE_EMPTY',
          `build ${data.buildId}: no item of the training sample could be embedded (every sampled row was rejected); see the shard reports of a dry run`,
        );
      // The plan's row count is an estimate for JSONL (bytes per line from the head of each file):
      // when the real sample cannot train the planned lists, build fewer lists and say so.
      const fitted = fitIndexToSample(spec, count);
      if (fitted !== spec) {
        spec = fitted;
        await writeBuildSpec(store, spec, plan);
      }
      // Before the trained index: a retry that finds the trained index finds the queries too,
      // and one that finds the queries keeps them.
      const queries =
        (await readQualityQueries(store, data.buildId))?.info ??
        (await prepareQualityQueries(
          store,
          spec,
          plan,
          catalogue,
          spec.model.dir === null ? undefined : await ctx.modelBundle(spec),
          () => ctx.embedder(spec),
          ctx.options.s3 ? { s3: ctx.options.s3 } : {},
        ));
      await job.updateProgress({ stage: 'train', step: 'k-means', sampled, embedded: count, qualityQueries: queries?.count ?? 0 });
      const index = FaissIndex.fromFactory(spec.model.dim, spec.index.factory, spec.index.metric);
      try {
        const t0 = Date.now();
        await index.train(vectors, trainOptionsFor(spec));
        const file = path.join(dir, 'trained.index');
        await index.write(file);
        await store.putFile(trainedKey, file);
        result = {
          sampled,
          trainedOn: count,
          trainMs: Date.now() - t0,
          trainedIndexBytes: (await stat(file)).size,
          ...(queries ? { qualityQueries: queries.count } : {}),
          ...(sampleResumed ? { sampleResumed } : {}),
        };
      } finally {
        await index.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
      await catalogue.close();
    }
  }
  await queues.enqueueFanOut(data, plan.shardCount);
  return result ?? { sampled: 0, trainedOn: 0, trainMs: Date.now() - started, trainedIndexBytes: existing?.size ?? 0 };
}

/** The faiss training knobs the build's index parameters chose (older specs: faiss's k-means). */
export function trainOptionsFor(spec: BuildSpec): TrainOptions {
  return {
    coarseTraining: spec.index.coarseTraining ?? 'flat',
    ...(spec.index.quantizerEfSearch !== undefined ? { quantizerEfSearch: spec.index.quantizerEfSearch } : {}),
  };
}

/** Codes per PQ sub-quantizer (8-bit codes): its k-means needs at least this many vectors. */
const PQ_CENTROIDS = 256;

/**
 * The build spec with an index the `trainedOn` vectors can train: the planned one when they
 * give every list INDEX_PARAM_RULE.minTrainPointsPerCentroid points, else the same factory with
 * the largest power-of-two nlist that does (nprobe clamped to it), recorded as `adjusted`.
 */
export function fitIndexToSample(spec: BuildSpec, trainedOn: number): BuildSpec {
  const { factory, nlist } = spec.index;
  if (/PQ\d+/.test(factory) && trainedOn < PQ_CENTROIDS) {
    throw new PlanError(
      'TRAIN_SAMPLE_TOO_SMALL',
      `build ${spec.buildId}: only ${trainedOn} vectors of the training sample could be embedded; ${factory}'s product quantizer needs at least ${PQ_CENTROIDS}`,
    );
  }
  if (trainedOn >= nlist * INDEX_PARAM_RULE.minTrainPointsPerCentroid) return spec;
  const fitted = 2 ** Math.floor(Math.log2(Math.max(1, trainedOn / INDEX_PARAM_RULE.minTrainPointsPerCentroid)));
  const reason = `the training sample held ${trainedOn} vectors (the plan estimated ${spec.index.trainSampleSize}), too few for ${nlist} lists of ${INDEX_PARAM_RULE.minTrainPointsPerCentroid}+ points: nlist ${nlist} -> ${fitted}`;
  const nprobe = Math.min(spec.index.nprobe, fitted);
  return {
    ...spec,
    index: {
      ...spec.index,
      factory: factory.replace(/IVF\d+/, `IVF${fitted}`),
      nlist: fitted,
      nprobe,
      coarseTraining: 'flat',
      rationale: [...spec.index.rationale, `train job: ${reason}`],
      adjusted: { plannedFactory: factory, reason },
    },
    ...(spec.quality?.fixedNprobe !== undefined ? { quality: { ...spec.quality, fixedNprobe: Math.min(spec.quality.fixedNprobe, fitted) } } : {}),
  };
}

/** The embedded training sample of a build, checkpointed in the store (see processTrain). */
interface TrainSample {
  vectors: Float32Array;
  count: number;
  sampled: number;
}

async function writeTrainSample(store: ObjectStore, buildId: string, sample: TrainSample, dir: string): Promise<void> {
  const keys = trainSampleKeys(buildId);
  const file = path.join(dir, 'train-sample.f32');
  await writeFile(file, Buffer.from(sample.vectors.buffer, sample.vectors.byteOffset, sample.vectors.byteLength));
  await store.putFile(keys.data, file);
  // The record last: its presence means the data object is complete (as shard stats do).
  const info = { count: sample.count, sampled: sample.sampled, bytes: sample.vectors.byteLength, sha256: await sha256File(file) };
  await store.put(keys.info, Buffer.from(JSON.stringify(info)), { contentType: 'application/json' });
  await rm(file, { force: true });
}

/** The checkpointed sample, when one was written and is intact (size and sha256 as recorded). */
async function readTrainSample(store: ObjectStore, buildId: string, dim: number, dir: string): Promise<TrainSample | undefined> {
  const keys = trainSampleKeys(buildId);
  if (!(await store.exists(keys.info))) return undefined;
  const info = JSON.parse((await store.get(keys.info)).toString('utf8')) as { count: number; sampled: number; bytes: number; sha256: string };
  if (!Number.isSafeInteger(info.count) || info.bytes !== info.count * dim * 4) return undefined;
  const file = path.join(dir, 'train-sample.f32');
  try {
    await store.download(keys.data, file);
    if ((await stat(file)).size !== info.bytes || (await sha256File(file)) !== info.sha256) return undefined;
    const body = await readFile(file);
    const vectors = new Float32Array(info.count * dim);
    body.copy(Buffer.from(vectors.buffer));
    return { vectors, count: info.count, sampled: info.sampled };
  } catch {
    return undefined; // unreadable: sample again
  } finally {
    await rm(file, { force: true });
  }
}

/**
 * An incremental build's "training": the base version's index emptied of its items (the same
 * coarse centroids and PQ codebooks, so carried codes stay valid) and the base's held-out
 * queries, so that its exact lists can be reused for the items carried over.
 */
async function trainFromBase(store: ObjectStore, spec: BuildSpec, ctx: WorkerContext, scratch: string): Promise<TrainResult> {
  const started = Date.now();
  const dir = await ctx.scratch(scratch);
  try {
    const file = path.join(dir, 'base.index');
    await downloadBaseFile(store, spec, INDEX_FILE, file);
    const { ids } = decodeFingerprints(await readBaseFile(store, spec, FINGERPRINTS_FILE), FINGERPRINTS_FILE);
    const index = await FaissIndex.read(file);
    try {
      const removed = await index.removeIds(ids);
      if (removed !== ids.length || index.ntotal !== 0)
        throw new BuildIntegrityError(
          `base version ${spec.incremental!.version}: its index held ${removed + index.ntotal} items, its fingerprints ${ids.length}`,
        );
      await index.write(file);
    } finally {
      await index.close();
    }
    const keys = qualityQueriesKeys(spec.buildId);
    await store.put(keys.data, await readBaseFile(store, spec, QUALITY_FILES.queries), { contentType: 'application/octet-stream' });
    const info = await readBaseFile(store, spec, QUALITY_FILES.info);
    await store.put(keys.info, info, { contentType: 'application/json' });
    await store.putFile(trainedIndexKey(spec.buildId), file);
    return {
      sampled: 0,
      trainedOn: 0,
      trainMs: Date.now() - started,
      trainedIndexBytes: (await stat(file)).size,
      qualityQueries: (JSON.parse(info.toString('utf8')) as { count: number }).count,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
