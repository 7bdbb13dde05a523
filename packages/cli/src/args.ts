import os from 'node:os';
import { parseArgs } from 'node:util';
import { ReindexError, emptyFlag, parseIntegerFlag } from '@reindex/core';
import { DEFAULT_DASHBOARD_OPTIONS } from '@reindex/dashboard';

/** A command line the CLI cannot run (unknown flag, bad value); printed with the usage, exit code 2. */
export class CliError extends ReindexError {
  constructor(message: string) {
    super('CLI_USAGE', message);
  }
}

/** The flag of each config option `reindex` takes, to name the flag when an error names the option at fault. */
const FLAG_OF_OPTION: Readonly<Record<string, string>> = {
  shardCount: '--shard-count',
  'catalogue.url': '--catalogue',
  modelDir: '--model',
  'store.url': '--store',
  redisUrl: '--redis',
  'index.factory': '--index-factory',
  name: '--name',
  workers: '--workers',
};

/** One line for stderr: the message, the flag of the option at fault, the code (usage errors: the message alone). */
export function describeFailure(error: unknown): string {
  const err = error as Error & { code?: string; option?: string };
  if (error instanceof CliError) return err.message;
  const flag = err.option !== undefined ? FLAG_OF_OPTION[err.option] : undefined;
  return `${err.message}${flag ? ` (${flag})` : ''}${err.code ? ` [${err.code}]` : ''}`;
}

export interface RunArgs {
  shardCount?: number;
  catalogue?: string;
  model?: string;
  store?: string;
  redis?: string;
  /** `--workers`; absent: the config's `workers`, else one per core. */
  workers?: number;
  indexFactory?: string;
  name?: string;
  config?: string;
  dryRun: boolean;
  json: boolean;
  resume?: string;
  /** Publish even when the quality gate fails (the manifest records `quality.forced`). */
  force?: boolean;
  /** `--incremental` (`"auto"`: start from LATEST when it can) or `--full` (`"off"`); absent: the config's `incremental`. */
  incremental?: 'auto' | 'off';
  /** Serve the ops dashboard during the run on this port (`--dashboard [PORT]`, default 3000). */
  dashboardPort?: number;
}

export const USAGE = `usage: reindex [run] --shard-count N [--catalogue URL] [--model DIR] [--store URL] [--redis URL]
                     [--workers K] [--index-factory STR] [--name NAME] [--config FILE] [--dry-run] [--json]
                     [--dashboard] [--dashboard-port PORT] [--force] [--incremental | --full]
       reindex --resume BUILD_ID [--store URL] [--redis URL] [--workers K] [--json]
       reindex publish BUILD_ID [--force] | search "TEXT" | status | rollback [--to V] | gc [--keep K] | schedule

A build is published only when its quality gate passes (recall@10 target within the latency
budget, item count against LATEST, rejected rows); --force publishes it anyway.

Zero configuration: a private redis-server, a file:// store under var/store, the bundled sample
catalogue (100,000 items) and the reference model, ${os.availableParallelism()} in-process workers (one per core).`;

/**
 * Refuses `--flag ""`: an empty value is a mistake (an unset shell variable), and falling back
 * to the default would build the bundled sample or publish under another name.
 */
export function rejectEmptyFlagValues(values: Record<string, string | boolean | Array<string | boolean> | undefined>, usage: string): void {
  const flag = emptyFlag(values);
  if (flag !== undefined) throw new CliError(`--${flag} must not be empty\n${usage}`);
}

/** An integer flag through the one grammar every binary shares (core's parseIntegerFlag). */
export function integerFlag(name: string, value: string | undefined, min: number, max?: number): number | undefined {
  if (value === undefined) return undefined;
  const n = parseIntegerFlag(name, value, { min, ...(max !== undefined ? { max } : {}) });
  if (typeof n !== 'number') throw new CliError(n.problem);
  return n;
}
const integer = integerFlag;

/** Parses and validates the run command's flags; every message names the flag at fault. */
export function parseRunArgs(argv: string[]): RunArgs {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        'shard-count': { type: 'string' },
        catalogue: { type: 'string' },
        model: { type: 'string' },
        store: { type: 'string' },
        redis: { type: 'string' },
        workers: { type: 'string' },
        'index-factory': { type: 'string' },
        name: { type: 'string' },
        config: { type: 'string' },
        'dry-run': { type: 'boolean', default: false },
        force: { type: 'boolean', default: false },
        incremental: { type: 'boolean', default: false },
        full: { type: 'boolean', default: false },
        json: { type: 'boolean', default: false },
        resume: { type: 'string' },
        dashboard: { type: 'boolean', default: false },
        'dashboard-port': { type: 'string' },
      },
    }));
  } catch (error) {
    throw new CliError(`${(error as Error).message}\n${USAGE}`);
  }
  rejectEmptyFlagValues(values, USAGE);
  const str = (k: string) => values[k] as string | undefined;
  const shardCount = integer('shard-count', str('shard-count'), 1);
  const resume = str('resume');
  if (shardCount === undefined && !resume && !str('config')) throw new CliError(`--shard-count is required (a positive integer)\n${USAGE}`);
  if (values.incremental === true && values.full === true) throw new CliError(`--incremental and --full contradict each other: give one\n${USAGE}`);
  return {
    ...(shardCount !== undefined ? { shardCount } : {}),
    ...(str('catalogue') ? { catalogue: str('catalogue') } : {}),
    ...(str('model') ? { model: str('model') } : {}),
    ...(str('store') ? { store: str('store') } : {}),
    ...(str('redis') ? { redis: str('redis') } : {}),
    ...(str('workers') !== undefined ? { workers: integer('workers', str('workers'), 0)! } : {}),
    ...(str('index-factory') ? { indexFactory: str('index-factory') } : {}),
    ...(str('name') ? { name: str('name') } : {}),
    ...(str('config') ? { config: str('config') } : {}),
    ...(resume ? { resume } : {}),
    ...(values.dashboard === true || str('dashboard-port')
      ? { dashboardPort: integer('dashboard-port', str('dashboard-port'), 1) ?? DEFAULT_DASHBOARD_OPTIONS.port }
      : {}),
    dryRun: values['dry-run'] === true,
    ...(values.force === true ? { force: true } : {}),
    ...(values.incremental === true ? { incremental: 'auto' as const } : values.full === true ? { incremental: 'off' as const } : {}),
    json: values.json === true,
  };
}
