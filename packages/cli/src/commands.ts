import path from 'node:path';
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { DEFAULT_SCALE_RATES_FILE, EMBEDDED_DEFAULTS, planCapacity, readScaleRates } from '@reindex/coordinator';
import { DEFAULT_CONFIG, indexParamsForConfig, loadConfig, openObjectStore, type ManifestBuild, type ObjectStore, type S3Options } from '@reindex/core';
import { publishBuild } from '@reindex/pipeline';
import { CliError, integerFlag, rejectEmptyFlagValues } from './args.js';
import { describeIndexSizes } from './run.js';
import { searchIndex } from './search.js';
import { collectGarbage, indexStatus, rollback } from './versions-cli.js';

const common = {
  store: { type: 'string' },
  name: { type: 'string' },
  config: { type: 'string' },
  json: { type: 'boolean', default: false },
} as const;

function parse<T extends Record<string, { type: 'string' | 'boolean'; default?: string | boolean }>>(argv: string[], options: T, usage: string) {
  let parsed: { values: Record<string, string | boolean | undefined>; positionals: string[] };
  try {
    parsed = parseArgs({ args: argv, options: { ...common, ...options }, allowPositionals: true, strict: true });
  } catch (error) {
    throw new CliError(`${(error as Error).message}\nusage: ${usage}`);
  }
  rejectEmptyFlagValues(parsed.values, `usage: ${usage}`);
  return parsed;
}

async function openStore(values: {
  store?: string | boolean;
  config?: string | boolean;
  name?: string | boolean;
}): Promise<{ store: ObjectStore; name: string; s3: S3Options }> {
  const config = await loadConfig(values.config as string | undefined);
  const url = (values.store as string | undefined) ?? (config.store.url === DEFAULT_CONFIG.store.url ? EMBEDDED_DEFAULTS.storeUrl : config.store.url);
  const storeUrl = /^[a-z0-9]+:\/\//i.test(url) ? url : `file://${path.resolve(url)}`;
  return { store: openObjectStore(storeUrl, { s3: config.s3 }), name: (values.name as string | undefined) ?? config.name, s3: config.s3 };
}

function positiveInt(flag: string, raw: string | undefined, fallback: number): number {
  return integerFlag(flag, raw, 1) ?? fallback;
}

const out = (line: string) => process.stdout.write(`${line}\n`);

/**
 * Catalogue text made safe for a terminal: control characters (ESC sequences that move the
 * cursor, retitle the window or hide text, C1 controls, bidi overrides) shown as `\u{..}`.
 */
export function printable(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g, (c) => `\\u{${c.codePointAt(0)!.toString(16)}}`);
}

/**
 * `reindex plan --items N`: the index a catalogue of N items gets under the config, with its
 * serving size and builder memory, without reading a catalogue (capacity planning).
 */
export async function planCommand(argv: string[]): Promise<number> {
  const usage = 'reindex plan --items N [--dim D] [--hours H [--rates FILE]] [--config FILE] [--json]';
  const { values } = parse(argv, { items: { type: 'string' }, dim: { type: 'string' }, hours: { type: 'string' }, rates: { type: 'string' } }, usage);
  if (values.items === undefined) throw new CliError(`--items is required\nusage: ${usage}`);
  const items = positiveInt('items', values.items as string, 1);
  const dim = positiveInt('dim', values.dim as string | undefined, 128);
  const hours = values.hours === undefined ? undefined : Number(values.hours);
  if (hours !== undefined && !(Number.isFinite(hours) && hours > 0))
    throw new CliError(`--hours must be a positive number, got ${JSON.stringify(values.hours)}`);
  const config = await loadConfig(values.config as string | undefined);
  const params = indexParamsForConfig(config.index, items, dim);
  const { servingMemoryBytes, builderMemoryBytes } = config.index;
  const ratesFile = (values.rates as string | undefined) ?? DEFAULT_SCALE_RATES_FILE;
  const rates = hours === undefined ? undefined : await readScaleRates(ratesFile);
  const capacity = rates && hours !== undefined ? planCapacity(params, items, hours, config.index.quality.queries, rates) : undefined;
  if (values.json) {
    out(JSON.stringify({ items, dim, ...params, servingMemoryBytes, builderMemoryBytes, ...(capacity ? { capacity, ratesMeasured: rates!.measured } : {}) }));
    return 0;
  }
  out(`${items.toLocaleString('en')} items of dim ${dim}: ${params.factory}`);
  for (const line of describeIndexSizes({ ...params, servingMemoryBytes, builderMemoryBytes })) out(line);
  if (capacity && rates) {
    const h = (s: number) => (s >= 3600 ? `${(s / 3600).toFixed(1)} h` : s >= 60 ? `${(s / 60).toFixed(1)} min` : `${s.toFixed(0)} s`);
    out(`fleet for ${hours} h, from the rates in ${ratesFile} (${rates.measured}):`);
    out(
      `  shard workers  ${capacity.workers.toLocaleString('en')} (each ${rates.shardItemsPerWorkerSecond.toLocaleString('en')} items/s, one core of the measuring machine), ${capacity.shards.toLocaleString('en')} shards (at most ~10 min each)`,
    );
    out(`  train          ${h(capacity.trainSeconds)} on one worker (${params.trainSampleSize.toLocaleString('en')}-vector sample)`);
    out(`  shard stage    ${h(capacity.shardStageSeconds)}`);
    out(`  merge          ${h(capacity.mergeSeconds)}, ${(capacity.mergeDiskBytes / 1e9).toFixed(1)} GB of scratch disk`);
    out(`  quality        ${h(capacity.qualitySeconds)}`);
    out(`  object store   ~${Math.round(capacity.storeObjects).toLocaleString('en')} objects written by shards (plus a GET of each by the merge)`);
    out(`  Redis          ~${(capacity.redisBytes / 1e6).toFixed(0)} MB at the build's peak`);
  }
  return 0;
}

export async function searchCommand(argv: string[]): Promise<number> {
  const usage = 'reindex search "<query text>" | --vector FILE|JSON [--k 10] [--nprobe N] [--version V] [--model DIR] [--store URL] [--name NAME] [--json]';
  const { values, positionals } = parse(
    argv,
    { k: { type: 'string' }, nprobe: { type: 'string' }, version: { type: 'string' }, model: { type: 'string' }, vector: { type: 'string' } },
    usage,
  );
  const text = positionals.join(' ').trim();
  const vectorArg = values.vector as string | undefined;
  if (vectorArg !== undefined && text !== '') throw new CliError(`give a query text or --vector, not both\nusage: ${usage}`);
  if (vectorArg === undefined && !text) throw new CliError(`a query text (or --vector) is required\nusage: ${usage}`);
  const query = vectorArg !== undefined ? { vector: await readQueryVector(vectorArg) } : { text };
  const { store, name, s3 } = await openStore(values);
  try {
    const hits = await searchIndex(store, query, {
      name,
      s3,
      k: positiveInt('k', values.k as string | undefined, 10),
      ...(values.nprobe ? { nprobe: positiveInt('nprobe', values.nprobe as string, 1) } : {}),
      ...(values.version ? { version: values.version as string } : {}),
      ...(values.model ? { modelDir: values.model as string } : {}),
    });
    if (values.json) out(JSON.stringify(hits));
    else
      hits.forEach((h, i) => {
        out(`${String(i + 1).padStart(3)}. ${h.score.toFixed(4)}  ${printable(String(h.id))}  ${h.title == null ? '(title not found)' : printable(h.title)}`);
      });
  } finally {
    await store.close();
  }
  return 0;
}

/**
 * `--vector`: a JSON array of numbers, given inline (`[0.1, ...]`) or as a file holding one
 * (or a `{"vector": [...]}` object, a line of a query file).
 */
async function readQueryVector(arg: string): Promise<Float32Array> {
  const inline = arg.trimStart().startsWith('[');
  let text = arg;
  if (!inline) {
    try {
      text = await readFile(arg, 'utf8');
    } catch (cause) {
      throw new CliError(`--vector ${arg}: not a JSON array and not a readable file (${(cause as Error).message})`);
    }
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new CliError(`--vector ${inline ? '' : `${arg} `}is not valid JSON`);
  }
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) value = (value as { vector?: unknown }).vector;
  if (!Array.isArray(value) || value.length === 0 || !value.every((x) => typeof x === 'number')) {
    throw new CliError(`--vector ${inline ? '' : `${arg} `}must be a non-empty JSON array of numbers (or {"vector": [...]})`);
  }
  return Float32Array.from(value as number[]);
}

export async function statusCommand(argv: string[]): Promise<number> {
  const { values } = parse(argv, {}, 'reindex status [--store URL] [--name NAME] [--json]');
  const { store, name } = await openStore(values);
  try {
    const status = await indexStatus(store, name);
    if (values.json) {
      out(JSON.stringify(status));
      return 0;
    }
    out(`index "${status.name}" in ${status.store}: LATEST → ${status.latest ?? '(none)'}`);
    for (const v of status.versions) {
      out(
        v.problem
          ? `  ${v.version}  BROKEN: ${v.problem}`
          : `${v.latest ? '* ' : '  '}${v.version}  ${v.ntotal?.toLocaleString('en')} vectors (${v.rejected} rejected)  ${v.factory} nprobe ${v.nprobe}  build ${v.buildId}  ${v.createdAt}${builtAs(v.build)}`,
      );
    }
    out(status.builds.length ? 'builds (newest first):' : 'builds: (none)');
    for (const b of status.builds) {
      out(
        `  ${b.buildId}  train ${b.train}, shards ${b.shardsDone}/${b.shardsTotal ?? '?'}, quality ${b.quality}, ${b.published ? `published as ${b.version}` : 'not published'}`,
      );
    }
  } finally {
    await store.close();
  }
  return 0;
}

export async function rollbackCommand(argv: string[]): Promise<number> {
  const { values } = parse(argv, { to: { type: 'string' } }, 'reindex rollback [--to VERSION] [--store URL] [--name NAME] [--json]');
  const { store, name } = await openStore(values);
  try {
    const moved = await rollback(store, name, values.to as string | undefined);
    out(values.json ? JSON.stringify(moved) : `LATEST of "${name}": ${moved.from ?? '(none)'} → ${moved.to}`);
  } finally {
    await store.close();
  }
  return 0;
}

export async function gcCommand(argv: string[]): Promise<number> {
  const { values } = parse(argv, { keep: { type: 'string' } }, 'reindex gc [--keep K] [--store URL] [--name NAME] [--json]');
  const config = await loadConfig(values.config as string | undefined);
  const { store, name } = await openStore(values);
  try {
    const gc = await collectGarbage(store, name, positiveInt('keep', values.keep as string | undefined, config.keepVersions));
    out(
      values.json
        ? JSON.stringify(gc)
        : [
            `deleted ${gc.deleted.length} version(s)${gc.deleted.length ? `: ${gc.deleted.join(', ')}` : ''}`,
            `pruned the intermediates of ${gc.prunedBuilds.length} build(s) (${(gc.prunedBytes / 1e6).toFixed(1)} MB)${gc.prunedBuilds.length ? `: ${gc.prunedBuilds.join(', ')}` : ''}`,
            `removed ${gc.cacheRemoved.length} version(s) from the local search cache`,
          ].join('\n'),
    );
  } finally {
    await store.close();
  }
  return 0;
}

export async function publishCommand(argv: string[]): Promise<number> {
  const usage = 'reindex publish BUILD_ID [--force] [--store URL] [--config FILE] [--json]';
  const { values, positionals } = parse(argv, { force: { type: 'boolean', default: false } }, usage);
  const [buildId, ...extra] = positionals;
  if (!buildId || extra.length > 0) throw new CliError(`one build id is required\nusage: ${usage}`);
  const { store } = await openStore(values);
  try {
    const result = await publishBuild(store, buildId, { force: values.force === true });
    if (values.json) {
      out(JSON.stringify(result));
    } else {
      out(`build ${buildId} published as version ${result.version}${result.forced ? ` (FORCED: quality gate failed: ${result.gate.failed.join(', ')})` : ''}`);
      out(`  manifest ${store.url.replace(/\/$/, '')}/${result.manifestKey}`);
      if (result.deletedVersions.length) out(`  retention deleted ${result.deletedVersions.join(', ')}`);
    }
  } finally {
    await store.close();
  }
  return 0;
}

/** `  incremental from V: +added ~changed −deleted, N carried` or `  full (reason)`; empty for versions from before. */
function builtAs(build: ManifestBuild | undefined): string {
  if (!build) return '';
  if (build.mode === 'incremental') {
    const n = (x: number) => x.toLocaleString('en');
    return `  incremental from ${build.baseVersion}: +${n(build.added)} ~${n(build.changed)} −${n(build.deleted)}, ${n(build.carried)} carried`;
  }
  return build.reason ? `  full (${build.reason})` : '  full';
}
