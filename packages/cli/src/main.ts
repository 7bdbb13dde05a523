#!/usr/bin/env node
import os from 'node:os';
import { commandLineArgs } from '@reindex/core';
import { DEFAULT_WORKER_OPTIONS, threadPoolSizeFor } from '@reindex/worker';
import { CliError, USAGE, describeFailure, parseRunArgs } from './args.js';
import { failureJson } from './json-output.js';
import { ProgressDisplay } from './progress.js';
import { runBuild } from './run.js';
import { startSchedule } from './schedule.js';
import { gcCommand, planCommand, publishCommand, rollbackCommand, searchCommand, statusCommand } from './commands.js';

const SUBCOMMANDS: Record<string, (argv: string[]) => Promise<number>> = {
  search: searchCommand,
  plan: planCommand,
  status: statusCommand,
  rollback: rollbackCommand,
  gc: gcCommand,
  publish: publishCommand,
  schedule,
};

/** Removes `--name value` / `--name=value` from argv and returns the value. */
function takeFlag(argv: string[], name: string): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === `--${name}`) return argv.splice(i, 2)[1];
    if (arg.startsWith(`--${name}=`)) return argv.splice(i, 1)[0]!.slice(name.length + 3);
  }
  return undefined;
}

async function schedule(argv: string[]): Promise<number> {
  const rest = [...argv];
  const cron = takeFlag(rest, 'cron');
  const timeZone = takeFlag(rest, 'time-zone');
  const args = parseRunArgs(rest);
  const running = await startSchedule(args, { ...(cron ? { cron } : {}), ...(timeZone ? { timeZone } : {}) });
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await running.close();
  return 0;
}

async function main(argv: string[]): Promise<number> {
  const [first, ...rest] = argv;
  if (first === '--help' || first === '-h' || first === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const sub = first ? SUBCOMMANDS[first] : undefined;
  if (sub) return sub(rest);
  const args = parseRunArgs(first === 'run' ? rest : argv);
  // The in-process workers' faiss calls each hold a libuv thread (see threadPoolSizeFor); set
  // before the pool's first use, unless the operator sized it.
  // The config file (read later, on this pool) may ask for fewer workers: size for the most.
  process.env.UV_THREADPOOL_SIZE ??= String(threadPoolSizeFor((args.workers ?? os.availableParallelism()) * DEFAULT_WORKER_OPTIONS.concurrency));
  const rejectionReasons = (s: { rejected: number; rejectedByReason?: Record<string, number>; buildId: string }): string => {
    if (s.rejected === 0 || !s.rejectedByReason) return '';
    const reasons = Object.entries(s.rejectedByReason)
      .sort((a, b) => b[1] - a[1])
      .map(([reason, n]) => `${reason} ${n.toLocaleString('en')}`)
      .join(', ');
    return ` (${reasons}; examples with their lines: builds/${s.buildId}/rejections.json in the store)`;
  };
  const display = new ProgressDisplay();
  const summary = await runBuild(args, display);
  if (args.dryRun) return 0;
  if (args.json) {
    process.stdout.write(`${JSON.stringify(summary)}\n`);
  } else {
    const stages = Object.entries(summary.stageSeconds)
      .map(([s, t]) => `${s} ${t.toFixed(1)} s`)
      .join(', ');
    process.stdout.write(
      [
        `build ${summary.buildId} published as version ${summary.version}`,
        `  items indexed  ${summary.items.toLocaleString('en')}`,
        `  rejected       ${summary.rejected.toLocaleString('en')}${rejectionReasons(summary)}`,
        `  shards         ${summary.shards}`,
        `  nprobe         ${summary.nprobe}${summary.recallAt10 !== undefined ? ` (recall@10 ${summary.recallAt10})` : ' (recall not measured)'}${summary.forced ? '  FORCED past a failed quality gate' : ''}`,
        summary.resumed
          ? `  time           ${summary.seconds.toFixed(1)} s this run; the build took ${summary.buildSeconds.toFixed(1)} s since it was planned (${stages})`
          : `  time           ${summary.seconds.toFixed(1)} s (${stages})`,
        `  throughput     ${Math.round(summary.itemsPerSecond).toLocaleString('en')} items/s`,
        `  manifest       ${summary.manifestUrl}`,
        '',
      ].join('\n'),
    );
  }
  return 0;
}

const argv = commandLineArgs();
main(argv).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`reindex: ${describeFailure(error)}\n`);
    // --json: the last line of stdout is a JSON object on failure too, for scripts and cron.
    if (argv.includes('--json')) process.stdout.write(`${JSON.stringify(failureJson(error))}\n`);
    process.exit(error instanceof CliError ? 2 : 1);
  },
);
