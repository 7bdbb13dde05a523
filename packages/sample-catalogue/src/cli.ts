#!/usr/bin/env node
/**
 * node dist/cli.js --items N --format jsonl|parquet --out FILE [--seed S] [--row-group-size R]
 */
import { parseArgs } from 'node:util';
import { commandLineArgs } from '@reindex/core';
import { writeCatalogue, WRITE_CATALOGUE_DEFAULTS } from './writers.js';
import { GENERATOR_DEFAULTS } from './generator.js';

const usage = 'usage: node dist/cli.js --items N --format jsonl|parquet --out FILE [--seed S] [--row-group-size R]';

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: commandLineArgs(),
    options: {
      items: { type: 'string', default: String(WRITE_CATALOGUE_DEFAULTS.items) },
      format: { type: 'string', default: WRITE_CATALOGUE_DEFAULTS.format },
      out: { type: 'string' },
      seed: { type: 'string', default: String(GENERATOR_DEFAULTS.seed) },
      'row-group-size': { type: 'string', default: String(WRITE_CATALOGUE_DEFAULTS.rowGroupSize) },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help || values.out === undefined) {
    console.error(usage);
    process.exitCode = values.help ? 0 : 2;
    return;
  }
  const int = (name: string, v: string): number => {
    const n = Number(v.replaceAll('_', ''));
    if (!Number.isSafeInteger(n) || n < 0) throw new Error(`--${name} must be a non-negative integer (got ${JSON.stringify(v)})\n${usage}`);
    return n;
  };
  const format = values.format;
  if (format !== 'jsonl' && format !== 'parquet') throw new Error(`--format must be jsonl or parquet (got ${JSON.stringify(format)})\n${usage}`);
  const started = performance.now();
  const items = await writeCatalogue(values.out, {
    items: int('items', values.items),
    format,
    seed: int('seed', values.seed),
    rowGroupSize: int('row-group-size', values['row-group-size']),
  });
  console.log(`wrote ${items} items to ${values.out} (${format}) in ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
