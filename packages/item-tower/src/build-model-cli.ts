#!/usr/bin/env node
/**
 * Writes the reference model bundle. `pnpm run build:model` (repo root) calls this; by default the
 * bundle goes to var/models/reference at the repository root, the default bundle of `reindex`.
 *
 *   node dist/build-model-cli.js [--out DIR] [--seed N] [--dim N] [--heads N]
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { commandLineArgs } from '@reindex/core';
import { buildReferenceBundle, REFERENCE_MODEL_DEFAULTS } from './reference-model.js';
import { loadBundle } from './bundle.js';

/** var/models/reference at the repository root, whatever the working directory. */
export const DEFAULT_REFERENCE_BUNDLE_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../var/models/reference');

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: commandLineArgs(),
    options: {
      out: { type: 'string', default: DEFAULT_REFERENCE_BUNDLE_DIR },
      seed: { type: 'string', default: String(REFERENCE_MODEL_DEFAULTS.seed) },
      dim: { type: 'string', default: String(REFERENCE_MODEL_DEFAULTS.dim) },
      heads: { type: 'string', default: String(REFERENCE_MODEL_DEFAULTS.heads) },
    },
  });
  const int = (name: string, v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n)) throw new Error(`--${name} must be an integer (got ${JSON.stringify(v)})`);
    return n;
  };
  const started = performance.now();
  const dim = int('dim', values.dim);
  await buildReferenceBundle(values.out, {
    seed: int('seed', values.seed),
    dim,
    heads: int('heads', values.heads),
    // The title bag cannot be wider than the output it is mapped into.
    titleEmbeddingDim: Math.min(dim, REFERENCE_MODEL_DEFAULTS.titleEmbeddingDim),
  });
  const bundle = await loadBundle(values.out);
  console.log(`wrote reference bundle to ${bundle.dir} (${bundle.contentHash}) in ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
