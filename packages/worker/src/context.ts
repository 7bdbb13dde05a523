import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ObjectStorePool, type ObjectStore, type ShardPlan } from '@reindex/core';
import { readBuildSpec, readPlan, type BuildSpec, openModelBundle } from '@reindex/pipeline';
import { FaissIndex } from '@reindex/faiss';
import { ItemEmbedder, PrecomputedEmbedder, type Embedder, type ModelBundle } from '@reindex/item-tower';
import { defaultIntraOpThreads, type WorkerOptions } from './options.js';

/**
 * What a worker process keeps between jobs: open stores, loaded models (an onnxruntime session
 * costs a second to create) and the trained index of the build it is working on.
 */
export class WorkerContext {
  readonly #stores: ObjectStorePool;
  readonly #bundles = new Map<string, Promise<ModelBundle>>();
  readonly #embedders = new Map<string, Promise<Embedder>>();
  readonly #trained = new Map<string, Promise<FaissIndex>>();
  readonly #builds = new Map<string, Promise<{ spec: BuildSpec; plan: ShardPlan }>>();
  #scratch?: string;

  constructor(readonly options: WorkerOptions) {
    this.#stores = new ObjectStorePool({ s3: options.s3 ?? {} });
  }

  get workerId(): string {
    return this.options.workerId ?? `${os.hostname()}-${process.pid}`;
  }

  store(url: string): ObjectStore {
    return this.#stores.get(url);
  }

  /**
   * The model bundle of a build, checked against the hash it was planned with: a local
   * directory as it is, an object-store prefix downloaded once per process.
   */
  modelBundle(spec: Pick<BuildSpec, 'model'>): Promise<ModelBundle> {
    const { dir, contentHash } = spec.model;
    if (dir === null || contentHash === null) return Promise.reject(new Error('this build has no model bundle (its vectors come from the catalogue)'));
    const key = `${spec.model.dir}\0${spec.model.contentHash}`;
    let bundle = this.#bundles.get(key);
    if (!bundle) {
      bundle = this.scratch('models').then((cacheDir) =>
        openModelBundle(dir, { cacheDir, expectedHash: contentHash, ...(this.options.s3 ? { s3: this.options.s3 } : {}) }),
      );
      bundle.catch(() => this.#bundles.delete(key));
      this.#bundles.set(key, bundle);
    }
    return bundle;
  }

  /**
   * What turns a build's rows into vectors: the item tower of its bundle, for catalogues whose
   * fields map as the spec says, or the rows' own vectors when `catalogue.fields.embedding` is set.
   */
  embedder(spec: Pick<BuildSpec, 'model' | 'catalogue'>): Promise<Embedder> {
    const { fields, normalizeEmbeddings } = spec.catalogue;
    const key = `${spec.model.dir}\0${spec.model.contentHash}\0${JSON.stringify(fields)}\0${normalizeEmbeddings === true}`;
    let embedder = this.#embedders.get(key);
    if (!embedder) {
      embedder =
        fields.embedding !== undefined
          ? Promise.resolve(
              new PrecomputedEmbedder({ dim: spec.model.dim, idField: fields.id, embeddingField: fields.embedding, normalize: normalizeEmbeddings === true }),
            )
          : this.modelBundle(spec).then((bundle) =>
              ItemEmbedder.create(bundle, {
                executionProvider: this.options.device,
                batchSize: this.options.batchSize,
                intraOpThreads: this.options.intraOpThreads ?? defaultIntraOpThreads(this.options.device, this.options.concurrency, os.availableParallelism()),
                fieldMapping: { ...fields },
              }),
            );
      embedder.catch(() => this.#embedders.delete(key));
      this.#embedders.set(key, embedder);
    }
    return embedder;
  }

  /**
   * A build's spec and plan, read once per process: the plan of a 10,000-shard build is
   * megabytes, and every shard job needs only its own entry.
   */
  build(store: ObjectStore, buildId: string): Promise<{ spec: BuildSpec; plan: ShardPlan }> {
    let entry = this.#builds.get(buildId);
    if (!entry) {
      entry = Promise.all([readBuildSpec(store, buildId), readPlan(store, buildId)]).then(([spec, plan]) => ({ spec, plan }));
      entry.catch(() => this.#builds.delete(buildId));
      if (this.#builds.size >= 4) this.#builds.delete(this.#builds.keys().next().value!);
      this.#builds.set(buildId, entry);
    }
    return entry;
  }

  /** The trained empty index of a build, downloaded once per process and cloned per shard. */
  trainedIndex(buildId: string, load: (localPath: string) => Promise<void>): Promise<FaissIndex> {
    let index = this.#trained.get(buildId);
    if (!index) {
      index = (async () => {
        const file = path.join(await this.scratch(`build-${buildId}`), 'trained.index');
        await load(file);
        return FaissIndex.read(file);
      })();
      index.catch(() => this.#trained.delete(buildId));
      // One build at a time is the common case: drop older builds' indexes.
      for (const [other, old] of this.#trained) {
        if (other !== buildId) {
          this.#trained.delete(other);
          void old.then(
            (ix) => ix.close(),
            () => undefined,
          );
        }
      }
      this.#trained.set(buildId, index);
    }
    return index;
  }

  /** A fresh directory under this process's scratch space; the caller removes it. */
  async scratch(name: string): Promise<string> {
    if (!this.#scratch) {
      const base = this.options.scratchDir ?? os.tmpdir();
      await mkdir(base, { recursive: true });
      this.#scratch = await mkdtemp(path.join(base, 'reindex-worker-'));
    }
    const dir = path.join(this.#scratch, name);
    await mkdir(dir, { recursive: true });
    return dir;
  }

  async close(): Promise<void> {
    for (const embedder of this.#embedders.values())
      await embedder.then(
        (e) => e.close(),
        () => undefined,
      );
    for (const index of this.#trained.values())
      await index.then(
        (ix) => ix.close(),
        () => undefined,
      );
    await this.#stores.closeAll();
    this.#embedders.clear();
    this.#trained.clear();
    if (this.#scratch) await rm(this.#scratch, { recursive: true, force: true });
  }
}
