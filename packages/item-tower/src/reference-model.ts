/**
 * The reference model bundle: an MMSE-shaped two-tower model with untrained, seeded weights.
 *
 * Item tower: embedding bags over hashed title tokens (sum / sqrt(count), so a title's vector has
 * about unit norm whatever its length), category-path prefixes, brand, shop and price bucket →
 * concat → Linear → Tanh → Linear → L2 normalise. Query tower: H heads over the query text; head
 * 0 is exactly the item tower applied to a title-only item, heads 1..H-1 perturb its first layer
 * (standing in for MMSE's differently-grained heads).
 *
 * Why these weights: untrained retrieval works only if the towers keep the geometry of the
 * hashed token bags. Plain Gaussian layers do not: ReLU pulls all cosines up (the arc-cosine
 * kernel maps 0 to 1/π) and each random projection adds noise of ~1/√width to every inner
 * product, which among 100,000 items lets near-duplicates overtake an item's own title. So W1
 * has orthonormal columns (an isometry into the hidden layer), Tanh runs in its near-linear range
 * (`activationGain`), and W2 maps the title block back with W1's transpose while the other fields
 * enter through a small random map (`fieldScale`). Lexical similarity of titles then survives up
 * to the hashing noise of a `titleEmbeddingDim`-wide bag.
 */
import { mkdir, writeFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import type { BundleManifest, FusionRule } from './bundle-manifest.js';
import type { FeatureSpec, TextTokenization } from './feature-spec.js';
import { BUNDLE_MANIFEST_FILE } from './bundle.js';
import { OnnxGraphBuilder } from './onnx-graph.js';
import { Rng } from './rng.js';
import { ItemTowerError } from './errors.js';

export interface ReferenceModelOptions {
  /** Output embedding dimension d. Default 128. */
  dim: number;
  /** Query heads H. Default 4. */
  heads: number;
  /** Seed of every weight. Default 42. */
  seed: number;
  /**
   * Width of the title embedding rows. Default 128. Hashing noise between unrelated titles is
   * about 1/√width, so narrower tables blur retrieval; wider ones cost memory (buckets × width × 4 B).
   */
  titleEmbeddingDim: number;
  /** Width of the category, brand, shop and price embedding rows. Default 16. */
  fieldEmbeddingDim: number;
  /** Hidden layer width; at least titleEmbeddingDim + 4 × fieldEmbeddingDim. Default 256. */
  hiddenDim: number;
  /** Scale of the hidden pre-activations; small keeps Tanh near-linear. Default 4. */
  activationGain: number;
  /** Title hash buckets. Default 65536 (a 32 MiB table at titleEmbeddingDim 128). */
  titleBuckets: number;
  /** Title token slots. Default 48 (words first, then n-grams). */
  titleMaxLength: number;
  /** Character n-gram sizes of title words. Default [3]. */
  charNgramSizes: number[];
  /** Bigrams of adjacent CJK characters. Default true. */
  cjkBigrams: boolean;
  /** Category path levels kept. Default 3. */
  categoryMaxDepth: number;
  /** Buckets of category prefixes, brands and shops. Defaults 16384, 16384, 65536. */
  categoryBuckets: number;
  brandBuckets: number;
  shopBuckets: number;
  /** Price bucket boundaries (currency units). Default roughly 1-2-5 steps from 1 to 10,000. */
  priceBoundaries: number[];
  /**
   * Weight of category/brand/shop/price relative to the title. Default 0.25: items are mostly
   * their titles (so a title query finds its item) while category and shop still separate
   * same-titled items.
   */
  fieldScale: number;
  /** Relative size of the per-head perturbation of heads 1..H-1. Default 0.3. */
  headPerturbation: number;
  /** Fusion rule written into bundle.json. Default mean. */
  fusion: FusionRule;
  /** Opset of the ONNX graphs. Default 17 (runs on onnxruntime ≥ 1.12). */
  opset: number;
}

export const REFERENCE_MODEL_DEFAULTS: Readonly<ReferenceModelOptions> = Object.freeze<ReferenceModelOptions>({
  dim: 128,
  heads: 4,
  seed: 42,
  titleEmbeddingDim: 128,
  fieldEmbeddingDim: 16,
  hiddenDim: 256,
  activationGain: 4,
  titleBuckets: 65536,
  titleMaxLength: 48,
  charNgramSizes: [3],
  cjkBigrams: true,
  categoryMaxDepth: 3,
  categoryBuckets: 16384,
  brandBuckets: 16384,
  shopBuckets: 65536,
  priceBoundaries: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000],
  fieldScale: 0.25,
  headPerturbation: 0.3,
  fusion: { kind: 'mean' },
  opset: 17,
});

/** The feature spec the reference model uses; also a sensible starting point for trained models. */
export function referenceFeatureSpecs(o: ReferenceModelOptions = REFERENCE_MODEL_DEFAULTS): FeatureSpec[] {
  return [
    { kind: 'text', field: 'title', input: 'title_ids', maskInput: 'title_mask', dtype: 'int64', ...titleTokenization(o) },
    {
      kind: 'categorical',
      field: 'category',
      input: 'category_ids',
      dtype: 'int64',
      buckets: o.categoryBuckets,
      seed: 2,
      pathSeparator: '>',
      maxDepth: o.categoryMaxDepth,
    },
    { kind: 'categorical', field: 'brand', input: 'brand_ids', dtype: 'int64', buckets: o.brandBuckets, seed: 3, pathSeparator: null, maxDepth: 1 },
    { kind: 'categorical', field: 'shop', input: 'shop_ids', dtype: 'int64', buckets: o.shopBuckets, seed: 4, pathSeparator: null, maxDepth: 1 },
    { kind: 'numeric', field: 'price', input: 'price_bucket', dtype: 'int64', boundaries: [...o.priceBoundaries] },
  ];
}

function titleTokenization(o: ReferenceModelOptions): TextTokenization {
  return { buckets: o.titleBuckets, seed: 1, maxLength: o.titleMaxLength, charNgramSizes: [...o.charNgramSizes], cjkBigrams: o.cjkBigrams };
}

/** Weights shared by the two towers (the query tower reuses the title path of the item tower). */
interface Weights {
  tables: Float32Array[];
  /** [inDim, hidden], already multiplied by activationGain. */
  w1: Float32Array;
  b1: Float32Array;
  /** [hidden, dim], already divided by activationGain. */
  w2: Float32Array;
  b2: Float32Array;
  /** [titleDim, heads × hidden]. */
  w1Query: Float32Array;
  b1Query: Float32Array;
}

function tableWidth(o: ReferenceModelOptions, index: number): number {
  return index === 0 ? o.titleEmbeddingDim : o.fieldEmbeddingDim;
}

/**
 * `count` orthonormal vectors of length `length` (Gram-Schmidt over seeded random vectors), as
 * rows of a [count, length] array. Deterministic: plain arithmetic and Math.sqrt only.
 */
function orthonormalRows(rng: Rng, count: number, length: number): Float64Array {
  const out = new Float64Array(count * length);
  const v = new Float32Array(length);
  for (let r = 0; r < count; r++) {
    const row = out.subarray(r * length, (r + 1) * length);
    for (;;) {
      rng.fillUniform(v, 1);
      row.set(v);
      for (let p = 0; p < r; p++) {
        const prev = out.subarray(p * length, (p + 1) * length);
        let dot = 0;
        for (let k = 0; k < length; k++) dot += (row[k] as number) * (prev[k] as number);
        for (let k = 0; k < length; k++) row[k] = (row[k] as number) - dot * (prev[k] as number);
      }
      let norm = 0;
      for (let k = 0; k < length; k++) norm += (row[k] as number) ** 2;
      norm = Math.sqrt(norm);
      if (norm > 1e-6) {
        for (let k = 0; k < length; k++) row[k] = (row[k] as number) / norm;
        break;
      }
    }
  }
  return out;
}

function drawWeights(o: ReferenceModelOptions, specs: FeatureSpec[]): Weights {
  const rng = new Rng(o.seed);
  const tables = specs.map((f, i) => {
    const E = tableWidth(o, i);
    const rows = f.kind === 'numeric' ? f.boundaries.length + 2 : f.buckets;
    const t = new Float32Array(rows * E);
    // Row 0 (padding/missing) stays zero so that absent values contribute nothing. Entries have
    // variance 1/E: a row, and a title bag (sum / sqrt(count)), has about unit norm; a category
    // path sums maxDepth rows, so its rows are scaled to keep the sum near unit norm too.
    const depth = f.kind === 'categorical' ? f.maxDepth : 1;
    rng.fillUniform(t, 1 / Math.sqrt(E * depth), E);
    return t;
  });
  const Et = o.titleEmbeddingDim;
  const inDim = Et + (specs.length - 1) * o.fieldEmbeddingDim;
  const Hd = o.hiddenDim;
  const g = o.activationGain;
  // Columns of W1 = orthonormal vectors in hidden space: the input geometry is kept exactly.
  const cols = orthonormalRows(rng, inDim, Hd);
  const w1 = new Float32Array(inDim * Hd);
  for (let i = 0; i < inDim; i++) for (let h = 0; h < Hd; h++) w1[i * Hd + h] = g * (cols[i * Hd + h] as number);
  // W2 = (title columns)ᵀ / g  +  fieldScale · (random map of the field columns) / g.
  const w2 = new Float32Array(Hd * o.dim);
  const fieldIn = inDim - Et;
  const mix = new Float32Array(fieldIn * o.dim);
  // Each (about unit-norm) field maps to a vector of norm about fieldScale.
  rng.fillUniform(mix, o.fieldScale / Math.sqrt(o.dim));
  for (let h = 0; h < Hd; h++) {
    for (let d = 0; d < o.dim; d++) {
      let v = d < Et ? (cols[d * Hd + h] as number) : 0;
      for (let f = 0; f < fieldIn; f++) v += (cols[(Et + f) * Hd + h] as number) * (mix[f * o.dim + d] as number);
      w2[h * o.dim + d] = v / g;
    }
  }
  // Small biases: an item with every field missing still gets a defined, non-zero vector.
  const b1 = new Float32Array(Hd);
  rng.fillUniform(b1, 0.01);
  const b2 = new Float32Array(o.dim);
  rng.fillUniform(b2, 0.01);
  // Query heads: the title rows of W1, perturbed per head; head 0 exact.
  const H = o.heads;
  const w1Query = new Float32Array(Et * H * Hd);
  const noise = new Float32Array(Hd);
  for (let r = 0; r < Et; r++) {
    for (let h = 0; h < H; h++) {
      rng.fillUniform(noise, (g * o.headPerturbation) / Math.sqrt(Hd));
      for (let c = 0; c < Hd; c++) {
        w1Query[r * H * Hd + h * Hd + c] = (w1[r * Hd + c] as number) + (h === 0 ? 0 : (noise[c] as number));
      }
    }
  }
  const b1Query = new Float32Array(H * Hd);
  for (let h = 0; h < H; h++) b1Query.set(b1, h * Hd);
  return { tables, w1, b1, w2, b2, w1Query, b1Query };
}

/** Masked bag: sum(table[ids] · mask) / sqrt(max(sum(mask), 1)) → [batch, E]. */
function textBag(g: OnnxGraphBuilder, table: string, ids: string, mask: string): string {
  const emb = g.node('Gather', [table, ids], { axis: 0 });
  const axis2 = g.int64Tensor(`${ids}_axis2`, [1], [2]);
  const axis1 = g.int64Tensor(`${ids}_axis1`, [1], [1]);
  const m3 = g.node('Unsqueeze', [mask, axis2]);
  const summed = g.node('ReduceSum', [g.node('Mul', [emb, m3]), axis1], { keepdims: 0 });
  const count = g.node('ReduceSum', [mask, axis1], { keepdims: 1 });
  const one = g.floatTensor(`${ids}_one`, [], new Float32Array([1]));
  return g.node('Div', [summed, g.node('Sqrt', [g.node('Max', [count, one])])]);
}

/** y / max(‖y‖₂, 1e-12) along `axis`. */
function l2Normalize(g: OnnxGraphBuilder, y: string, axis: number, out: string): void {
  const norm = g.node('ReduceL2', [y], { axes: [axis], keepdims: 1 });
  const eps = g.floatTensor(`eps_${axis}`, [], new Float32Array([1e-12]));
  g.node('Div', [y, g.node('Max', [norm, eps])], {}, out);
}

function itemGraph(o: ReferenceModelOptions, specs: FeatureSpec[], w: Weights): Uint8Array {
  const g = new OnnxGraphBuilder('mmse_reference_item_tower');
  const bags: string[] = [];
  specs.forEach((f, i) => {
    const E = tableWidth(o, i);
    const rows = (w.tables[i] as Float32Array).length / E;
    const table = g.floatTensor(`${f.field}_embedding`, [rows, E], w.tables[i] as Float32Array);
    const width = f.kind === 'text' ? f.maxLength : f.kind === 'categorical' ? f.maxDepth : 1;
    const ids = g.input(f.input, f.dtype, ['batch', width]);
    if (f.kind === 'text') {
      const mask = g.input(f.maskInput, 'float32', ['batch', width]);
      bags.push(textBag(g, table, ids, mask));
    } else {
      const axis1 = g.int64Tensor(`${f.input}_axis1`, [1], [1]);
      bags.push(g.node('ReduceSum', [g.node('Gather', [table, ids], { axis: 0 }), axis1], { keepdims: 0 }));
    }
  });
  const x = g.node('Concat', bags, { axis: 1 });
  const inDim = o.titleEmbeddingDim + (specs.length - 1) * o.fieldEmbeddingDim;
  const w1 = g.floatTensor('w1', [inDim, o.hiddenDim], w.w1);
  const b1 = g.floatTensor('b1', [o.hiddenDim], w.b1);
  const hidden = g.node('Tanh', [g.node('Add', [g.node('MatMul', [x, w1]), b1])]);
  const w2 = g.floatTensor('w2', [o.hiddenDim, o.dim], w.w2);
  const b2 = g.floatTensor('b2', [o.dim], w.b2);
  const y = g.node('Add', [g.node('MatMul', [hidden, w2]), b2]);
  l2Normalize(g, y, 1, 'embedding');
  g.output('embedding', 'float32', ['batch', o.dim]);
  return g.toBytes(o.opset, { name: '@reindex/item-tower', version: '1' }, 'reindex reference MMSE-shaped item tower (untrained)');
}

function queryGraph(o: ReferenceModelOptions, title: TextTokenization, w: Weights): Uint8Array {
  const g = new OnnxGraphBuilder('mmse_reference_query_tower');
  const E = o.titleEmbeddingDim;
  const H = o.heads;
  const table = g.floatTensor('title_embedding', [title.buckets, E], w.tables[0] as Float32Array);
  const ids = g.input('query_ids', 'int64', ['batch', title.maxLength]);
  const mask = g.input('query_mask', 'float32', ['batch', title.maxLength]);
  const t = textBag(g, table, ids, mask);
  const w1 = g.floatTensor('w1_heads', [E, H * o.hiddenDim], w.w1Query);
  const b1 = g.floatTensor('b1_heads', [H * o.hiddenDim], w.b1Query);
  const hidden = g.node('Tanh', [g.node('Add', [g.node('MatMul', [t, w1]), b1])]);
  const shape = g.int64Tensor('heads_shape', [3], [-1, H, o.hiddenDim]);
  const perHead = g.node('Reshape', [hidden, shape]);
  const w2 = g.floatTensor('w2', [o.hiddenDim, o.dim], w.w2);
  const b2 = g.floatTensor('b2', [o.dim], w.b2);
  const y = g.node('Add', [g.node('MatMul', [perHead, w2]), b2]);
  l2Normalize(g, y, 2, 'head_embeddings');
  g.output('head_embeddings', 'float32', ['batch', H, o.dim]);
  return g.toBytes(o.opset, { name: '@reindex/item-tower', version: '1' }, 'reindex reference MMSE-shaped query tower (untrained)');
}

/**
 * Writes the reference bundle (bundle.json, model.onnx, query.onnx) into `outDir`, replacing
 * what is there. Files are written under temporary names and renamed, so a reader never sees a
 * half-written model. Deterministic: the same options give byte-identical files.
 */
export async function buildReferenceBundle(outDir: string, options: Partial<ReferenceModelOptions> = {}): Promise<BundleManifest> {
  const o: ReferenceModelOptions = { ...REFERENCE_MODEL_DEFAULTS, ...options };
  for (const key of ['dim', 'heads', 'titleEmbeddingDim', 'fieldEmbeddingDim', 'hiddenDim', 'titleBuckets', 'titleMaxLength', 'categoryMaxDepth'] as const) {
    if (!Number.isInteger(o[key]) || o[key] < 1) {
      throw new ItemTowerError('INVALID_OPTION', `reference model option ${key} must be a positive integer (got ${JSON.stringify(o[key])})`);
    }
  }
  if (o.hiddenDim < o.titleEmbeddingDim + 4 * o.fieldEmbeddingDim || o.titleEmbeddingDim > o.dim) {
    throw new ItemTowerError(
      'INVALID_OPTION',
      `reference model needs hiddenDim (${o.hiddenDim}) ≥ titleEmbeddingDim + 4 × fieldEmbeddingDim and titleEmbeddingDim (${o.titleEmbeddingDim}) ≤ dim (${o.dim})`,
    );
  }
  const specs = referenceFeatureSpecs(o);
  const weights = drawWeights(o, specs);
  const title = titleTokenization(o);
  const manifest: BundleManifest = {
    formatVersion: 1,
    name: 'reindex-reference-mmse',
    version: '1.0.0',
    dim: o.dim,
    metric: 'inner_product',
    normalized: true,
    item: { model: 'model.onnx', output: 'embedding', features: specs },
    query: {
      model: 'query.onnx',
      output: 'head_embeddings',
      heads: o.heads,
      fusion: o.fusion,
      input: { input: 'query_ids', maskInput: 'query_mask', dtype: 'int64', ...title },
    },
    metadata: { builder: '@reindex/item-tower buildReferenceBundle', trained: false, options: o },
  };
  await mkdir(outDir, { recursive: true });
  const files: [string, Uint8Array | string][] = [
    ['model.onnx', itemGraph(o, specs, weights)],
    ['query.onnx', queryGraph(o, title, weights)],
    [BUNDLE_MANIFEST_FILE, `${JSON.stringify(manifest, null, 2)}\n`],
  ];
  for (const [name, data] of files) {
    const tmp = path.join(outDir, `.${name}.tmp-${process.pid}`);
    try {
      await writeFile(tmp, data);
      await rename(tmp, path.join(outDir, name));
    } catch (cause) {
      await rm(tmp, { force: true });
      throw new ItemTowerError('INVALID_OPTION', `cannot write ${name} into ${outDir}`, { cause });
    }
  }
  return manifest;
}
