import type { FieldMapping } from './featurizer.js';
import { BundleError, ItemTowerError } from './errors.js';
import { ItemEmbedder } from './item-embedder.js';
import { QueryEncoder } from './query-encoder.js';
import type { ModelBundle } from './bundle.js';

export interface BundleCheckOptions {
  /** Check the item tower (skip it for a catalogue of its own vectors). Default true. */
  itemTower?: boolean;
  /** Catalogue records to embed with the item tower (a few; their rejections are fine). */
  records?: readonly unknown[];
  fieldMapping?: Partial<FieldMapping>;
}

/**
 * Loads the bundle's ONNX models in onnxruntime, checks their inputs and outputs against
 * bundle.json, and runs them once (the item tower on `records`, the query tower on one text),
 * so a bundle that cannot work fails before a build starts: `BUNDLE_MODEL_MISMATCH` for names,
 * dtypes and shapes, `EMBEDDING_INVALID` for outputs of the wrong size or NaN, and
 * `BUNDLE_INVALID` for a model onnxruntime cannot load or run.
 */
export async function checkBundleModels(bundle: ModelBundle, options: BundleCheckOptions = {}): Promise<void> {
  // One thread: a plan-time check, not throughput.
  const session = { intraOpThreads: 1 };
  if (options.itemTower !== false) {
    const embedder = await loading(bundle.itemModelPath, () =>
      ItemEmbedder.create(bundle, { ...session, batchSize: 16, fieldMapping: options.fieldMapping ?? {} }),
    );
    try {
      await running(bundle.itemModelPath, () => embedder.embed(options.records ?? []));
    } finally {
      await embedder.close();
    }
  }
  if (bundle.queryModelPath !== null) {
    const path = bundle.queryModelPath;
    const encoder = await loading(path, () => QueryEncoder.create(bundle, session));
    try {
      const heads = await running(path, () => encoder.encode(['bundle check']));
      const expected = encoder.heads * bundle.manifest.dim;
      if (heads.length !== expected) {
        throw new BundleError(
          'BUNDLE_MODEL_MISMATCH',
          `${path} returned ${heads.length} numbers for one query; bundle.json promises ${encoder.heads} heads × dim ${bundle.manifest.dim}`,
        );
      }
      const bad = heads.findIndex((x) => !Number.isFinite(x));
      if (bad >= 0) throw new ItemTowerError('EMBEDDING_INVALID', `${path} returned ${heads[bad]} for a query (value ${bad})`);
    } finally {
      await encoder.close();
    }
  }
}

async function loading<T>(modelPath: string, open: () => Promise<T>): Promise<T> {
  try {
    return await open();
  } catch (cause) {
    if (cause instanceof BundleError) throw cause;
    throw new BundleError('BUNDLE_INVALID', `onnxruntime cannot load ${modelPath}: ${(cause as Error).message}`, { cause });
  }
}

async function running<T>(modelPath: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (cause) {
    if (cause instanceof ItemTowerError && cause.code === 'EMBEDDING_INVALID') throw cause;
    throw new BundleError('BUNDLE_INVALID', `${modelPath} fails to run on the bundle's own inputs: ${(cause as Error).message}`, { cause });
  }
}
