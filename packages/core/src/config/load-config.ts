import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { ConfigError } from '../errors.js';
import { validateS3Options } from '../store/s3-options.js';
import { DEFAULT_CONFIG, type ReindexConfig, type ReindexConfigInput } from './reindex-config.js';

const positiveInt = (what: string) =>
  z
    .number({ error: `must be ${what}` })
    .int({ error: `must be ${what}` })
    .positive({ error: `must be ${what}` });
const nonNegativeInt = (what: string) =>
  z
    .number({ error: `must be ${what}` })
    .int({ error: `must be ${what}` })
    .nonnegative({ error: `must be ${what}` });
const fraction = z
  .number({ error: 'must be a number from 0 to 1' })
  .min(0, { error: 'must be a number from 0 to 1' })
  .max(1, { error: 'must be a number from 0 to 1' });
const nonEmpty = z.string({ error: 'must be a non-empty string' }).min(1, { error: 'must be a non-empty string' });
/** Index names become object-store path segments and file names on serving hosts. */
const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** Options that existed once, with what replaced them (a config written for an older release says so). */
const RENAMED_OPTIONS: Record<string, string> = {
  'index.memoryBudgetBytes':
    'was split into index.servingMemoryBytes (what a serving host gives the index: decides the PQ size) and index.builderMemoryBytes (what a train or merge job may hold)',
};

const configSchema = z.strictObject({
  name: z.string().regex(NAME_PATTERN, { error: 'must be 1-128 characters of letters, digits, ".", "_" or "-", starting with a letter or digit' }),
  catalogue: z.strictObject({
    url: nonEmpty.optional(),
    fields: z.strictObject({
      id: nonEmpty,
      title: nonEmpty,
      category: nonEmpty,
      brand: nonEmpty,
      shop: nonEmpty,
      price: nonEmpty,
      embedding: nonEmpty.optional(),
    }),
    normalizeEmbeddings: z.boolean({ error: 'must be true or false' }),
    idKind: z.enum(['auto', 'int64', 'string'], { error: 'must be "auto", "int64" or "string"' }),
    duplicateIds: z.enum(['reject', 'keep-last', 'fail'], { error: 'must be "reject", "keep-last" or "fail"' }),
  }),
  store: z.strictObject({ url: nonEmpty }),
  redisUrl: z
    .string()
    .regex(/^rediss?:\/\/.+/, { error: 'must be a redis:// or rediss:// URL' })
    .optional(),
  modelDir: nonEmpty.optional(),
  index: z.strictObject({
    factory: z
      .string()
      .regex(/^[A-Za-z0-9_,.]+$/, { error: 'must be a faiss factory string such as "IVF4096,PQ32"' })
      .optional(),
    metric: z.enum(['ip', 'l2'], { error: 'must be "ip" or "l2"' }),
    nprobe: positiveInt('a positive integer').optional(),
    trainSampleSize: positiveInt('a positive integer').optional(),
    trainPointsPerCentroid: positiveInt('a positive integer'),
    maxTrainSampleSize: positiveInt('a positive integer'),
    servingMemoryBytes: positiveInt('a positive integer number of bytes'),
    builderMemoryBytes: positiveInt('a positive integer number of bytes'),
    quality: z.strictObject({
      queries: positiveInt('a positive integer'),
      targetRecallAt10: fraction,
      latencyBudgetMs: z.number({ error: 'must be a positive number of milliseconds' }).positive({ error: 'must be a positive number of milliseconds' }),
      maxNprobe: positiveInt('a positive integer').optional(),
      queriesUrl: nonEmpty.optional(),
      maxItemDropFraction: fraction,
      maxRejectedFraction: fraction,
    }),
  }),
  shardCount: positiveInt('a positive integer'),
  workers: nonNegativeInt('a non-negative integer').optional(),
  keepVersions: positiveInt('a positive integer (the current version counts)'),
  incremental: z.enum(['off', 'auto'], { error: 'must be "off" or "auto"' }),
  s3: z.record(z.string(), z.unknown()),
  schedule: z
    .strictObject({
      cron: nonEmpty,
      timeZone: nonEmpty.refine(isTimeZone, { error: 'must be an IANA time zone such as "Europe/Berlin" or "UTC"' }),
    })
    .optional(),
});

function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

export interface LoadConfigOptions {
  /** Base for the default config file lookup. Default `process.cwd()`. */
  cwd?: string;
}

/**
 * Builds the effective config: DEFAULT_CONFIG, then the JSON file (if any), then `overrides`
 * (CLI flags), each layer deep-merged. Relative local paths inside the file are resolved against
 * the file's directory, so a config works from any working directory. Every problem is reported
 * at once, each naming its path (`index.nprobe: must be a positive integer, got 0`).
 */
export async function loadConfig(file?: string, overrides: ReindexConfigInput = {}, options: LoadConfigOptions = {}): Promise<ReindexConfig> {
  let fromFile: ReindexConfigInput = {};
  let source = 'config';
  if (file !== undefined) {
    const path = isAbsolute(file) ? file : resolve(options.cwd ?? process.cwd(), file);
    source = `config file ${path}`;
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (cause) {
      throw new ConfigError(`cannot read ${source}: ${(cause as Error).message}`, { cause, code: 'CONFIG_UNREADABLE' });
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (cause) {
      throw new ConfigError(`${source} is not valid JSON: ${(cause as Error).message}`, { cause });
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw new ConfigError(`${source} must contain a JSON object`);
    }
    fromFile = resolveRelativePaths(parsed as ReindexConfigInput, dirname(path));
  }
  return validateConfig(deepMerge(deepMerge(DEFAULT_CONFIG, fromFile), overrides), source, overrides);
}

/** Validates a complete config object (e.g. one assembled in code). */
export function validateConfig(input: unknown, source = 'config', overrides: unknown = {}): ReindexConfig {
  const valueAt = (root: unknown, path: readonly PropertyKey[]): unknown =>
    path.reduce<unknown>((value, key) => (value as Record<PropertyKey, unknown> | undefined)?.[key], root);
  const result = configSchema.safeParse(input);
  const problems: string[] = [];
  if (!result.success) {
    for (const issue of result.error.issues) {
      const path = issue.path.map(String).join('.') || '(root)';
      const got = valueAt(input, issue.path);
      // A flag's value is the flag's fault, not the config file's.
      const origin = issue.path.length > 0 && valueAt(overrides, issue.path) !== undefined ? ' (given on the command line)' : '';
      if (issue.code === 'unrecognized_keys') {
        const prefix = issue.path.length === 0 ? '' : `${path}.`;
        for (const key of issue.keys) problems.push(`${prefix}${key}: ${RENAMED_OPTIONS[`${prefix}${key}`] ?? 'unknown option'}`);
      } else {
        problems.push(`${path}: ${issue.message}${got === undefined ? '' : `, got ${JSON.stringify(got)}`}${origin}`);
      }
    }
  }
  const config = (result.success ? result.data : input) as ReindexConfig;
  if (result.success) {
    problems.push(...validateS3Options(config.s3));
    const nlist = /(?:^|,)IVF(\d+)/.exec(config.index.factory ?? '')?.[1];
    if (nlist !== undefined && config.index.nprobe !== undefined && config.index.nprobe > Number(nlist)) {
      problems.push(`index.nprobe: must be <= nlist ${nlist} of index.factory "${config.index.factory}", got ${config.index.nprobe}`);
    }
  }
  if (problems.length > 0) {
    throw new ConfigError(`invalid ${source}:\n  ${problems.join('\n  ')}`);
  }
  return config;
}

/** Recursively merges plain objects; arrays and scalars in `over` replace; undefined leaves `base`. */
export function deepMerge<T>(base: T, over: unknown): T {
  if (!isPlainObject(base) || !isPlainObject(over)) return (over === undefined ? base : over) as T;
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over)) {
    if (value === undefined) continue;
    out[key] = key in out ? deepMerge(out[key], value) : value;
  }
  return out as T;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function resolveRelativePaths(input: ReindexConfigInput, baseDir: string): ReindexConfigInput {
  const local = (value: unknown): unknown =>
    typeof value === 'string' && value.length > 0 && !/^[a-z][a-z0-9+.-]*:/i.test(value) && !isAbsolute(value) ? resolve(baseDir, value) : value;
  // biome-ignore lint/suspicious/noExplicitAny: a partial config of any shape; only string paths are rewritten, then the schema validates it
  const out = structuredClone(input) as Record<string, any>;
  if (isPlainObject(out.catalogue) && out.catalogue.url !== undefined) out.catalogue.url = local(out.catalogue.url);
  if (isPlainObject(out.store) && out.store.url !== undefined) out.store.url = local(out.store.url);
  if (out.modelDir !== undefined) out.modelDir = local(out.modelDir);
  if (isPlainObject(out.index) && isPlainObject(out.index.quality) && out.index.quality.queriesUrl !== undefined)
    out.index.quality.queriesUrl = local(out.index.quality.queriesUrl);
  return out as ReindexConfigInput;
}

// The schema and the ReindexConfig interface (where each option is documented) must describe the
// same type: a field added, removed or retyped in one but not the other fails to compile here.
// (`s3` is a record in the schema and checked field by field by validateS3Options.)
type Same<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
const schemaMatchesInterface: Same<Omit<z.output<typeof configSchema>, 's3'>, Omit<ReindexConfig, 's3'>> = true;
void schemaMatchesInterface;
