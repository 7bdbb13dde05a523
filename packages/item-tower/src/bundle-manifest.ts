/**
 * bundle.json: the declarative half of a model bundle (contract). Parsed and checked here without
 * touching the ONNX files; `model-io.ts` checks the ONNX files against it.
 */
import type { FeatureSpec, IdDtype, TextTokenization } from './feature-spec.js';
import { QUERY_INPUT_KEYS, checkFeatureSpecs, checkTokenization, unknownKeys } from './feature-spec.js';

/** How the H per-head scores of a query are fused into one (post-fusion). */
export type FusionRule =
  | { kind: 'mean' }
  | { kind: 'max' }
  /** Weighted sum; `weights` has one entry per head. */
  | { kind: 'weighted'; weights: number[] };

/** Input of the query tower: one text, tokenized like an item text feature. */
export interface QueryInputSpec extends TextTokenization {
  input: string;
  maskInput: string;
  dtype: IdDtype;
}

export interface BundleManifest {
  /** Version of this bundle format; 1. */
  formatVersion: 1;
  /** Model name and version, for people and manifests. */
  name: string;
  version: string;
  /** Embedding dimension d of items and of every query head. */
  dim: number;
  /** Similarity the index uses. Only inner product is supported (on L2-normalised vectors). */
  metric: 'inner_product';
  /** Whether the towers output unit-norm vectors (inner product = cosine). */
  normalized: boolean;
  item: {
    /** Path of the item tower relative to the bundle directory (normally "model.onnx"). */
    model: string;
    /** Name of the float32 output, shape [batch, dim]. */
    output: string;
    features: FeatureSpec[];
  };
  query?: {
    model: string;
    /** Name of the float32 output, shape [batch, heads, dim]. */
    output: string;
    heads: number;
    fusion: FusionRule;
    input: QueryInputSpec;
  };
  /** Free-form provenance (trainer, data snapshot, builder seed). */
  metadata?: Record<string, unknown>;
}

/** Checks a parsed bundle.json; returns every problem found (empty when valid). */
export function checkBundleManifest(value: unknown): string[] {
  if (typeof value !== 'object' || value === null) return ['bundle.json must hold a JSON object'];
  const m = value as Record<string, unknown>;
  const problems: string[] = [];
  // A misspelt key ("normalised", "heads " ...) would otherwise be ignored without a word.
  problems.push(...unknownKeys(m, ['formatVersion', 'name', 'version', 'dim', 'metric', 'normalized', 'item', 'query', 'metadata'], ''));
  if (m.formatVersion !== 1) problems.push(`formatVersion must be 1 (got ${JSON.stringify(m.formatVersion)})`);
  for (const key of ['name', 'version'] as const) {
    if (typeof m[key] !== 'string' || m[key] === '') problems.push(`${key} must be a non-empty string`);
  }
  if (!Number.isInteger(m.dim) || (m.dim as number) < 1) problems.push(`dim must be a positive integer (got ${JSON.stringify(m.dim)})`);
  if (m.metric !== 'inner_product') problems.push(`metric must be "inner_product" (got ${JSON.stringify(m.metric)})`);
  if (typeof m.normalized !== 'boolean') problems.push('normalized must be a boolean');
  const item = m.item as Record<string, unknown> | undefined;
  if (typeof item !== 'object' || item === null) {
    problems.push('item must be an object');
  } else {
    problems.push(...unknownKeys(item, ['model', 'output', 'features'], 'item'));
    checkFileName(item.model, 'item.model', problems);
    if (typeof item.output !== 'string' || item.output === '') problems.push('item.output must be a non-empty string');
    problems.push(...checkFeatureSpecs(item.features, 'item.features'));
  }
  if (m.query !== undefined) {
    const q = m.query as Record<string, unknown>;
    if (typeof q !== 'object' || q === null) {
      problems.push('query must be an object when present');
    } else {
      problems.push(...unknownKeys(q, ['model', 'output', 'heads', 'fusion', 'input'], 'query'));
      checkFileName(q.model, 'query.model', problems);
      if (typeof q.output !== 'string' || q.output === '') problems.push('query.output must be a non-empty string');
      const heads = q.heads;
      if (!Number.isInteger(heads) || (heads as number) < 1) problems.push(`query.heads must be a positive integer (got ${JSON.stringify(heads)})`);
      problems.push(...checkFusion(q.fusion, heads as number));
      const input = q.input as Record<string, unknown> | undefined;
      if (typeof input !== 'object' || input === null) {
        problems.push('query.input must be an object');
      } else {
        problems.push(...unknownKeys(input, QUERY_INPUT_KEYS, 'query.input'));
        for (const key of ['input', 'maskInput']) {
          if (typeof input[key] !== 'string' || input[key] === '') problems.push(`query.input.${key} must be a non-empty string`);
        }
        if (input.dtype !== 'int64' && input.dtype !== 'int32') problems.push('query.input.dtype must be "int64" or "int32"');
        problems.push(...checkTokenization(input, 'query.input'));
      }
    }
  }
  return problems;
}

function checkFusion(value: unknown, heads: number): string[] {
  const f = value as Record<string, unknown> | undefined;
  if (typeof f !== 'object' || f === null) return ['query.fusion must be an object'];
  const keys = unknownKeys(f, f.kind === 'weighted' ? ['kind', 'weights'] : ['kind'], 'query.fusion');
  if (keys.length > 0) return keys;
  if (f.kind === 'mean' || f.kind === 'max') return [];
  if (f.kind === 'weighted') {
    const w = f.weights;
    if (!Array.isArray(w) || w.length !== heads || w.some((x) => typeof x !== 'number' || !Number.isFinite(x))) {
      return [`query.fusion.weights must be ${heads} finite numbers, one per head`];
    }
    return [];
  }
  return [`query.fusion.kind must be "mean", "max" or "weighted" (got ${JSON.stringify(f.kind)})`];
}

function checkFileName(v: unknown, at: string, problems: string[]): void {
  // Bundles may live in an object store: keep model paths plain names inside the bundle.
  if (typeof v !== 'string' || v === '' || v.includes('..') || v.startsWith('/') || v.includes('\\')) {
    problems.push(`${at} must be a file name inside the bundle (got ${JSON.stringify(v)})`);
  }
}
