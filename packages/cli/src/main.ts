#!/usr/bin/env node
import { CliError, USAGE, parseRunArgs } from './args.js';
import { ProgressDisplay } from './progress.js';
import { runBuild } from './run.js';

async function main(argv: string[]): Promise<number> {
  const [first, ...rest] = argv;
  if (first === '--help' || first === '-h' || first === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const args = parseRunArgs(first === 'run' ? rest : argv);
  const display = new ProgressDisplay();
  const summary = await runBuild(args, display);
  if (args.dryRun) return 0;
  if (args.json) {
    process.stdout.write(`${JSON.stringify(summary)}\n`);
  } else {
    const stages = Object.entries(summary.stageSeconds).map(([s, t]) => `${s} ${t.toFixed(1)} s`).join(', ');
    process.stdout.write([
      `build ${summary.buildId} published as version ${summary.version}`,
      `  items indexed  ${summary.items.toLocaleString('en')}`,
      `  rejected       ${summary.rejected.toLocaleString('en')}`,
      `  shards         ${summary.shards}`,
      `  time           ${summary.seconds.toFixed(1)} s (${stages})`,
      `  throughput     ${Math.round(summary.itemsPerSecond).toLocaleString('en')} items/s`,
      `  manifest       ${summary.manifestUrl}`,
      '',
    ].join('\n'));
  }
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    const err = error as Error & { code?: string };
    process.stderr.write(`reindex: ${err.message}${err.code && !(error instanceof CliError) ? ` [${err.code}]` : ''}\n`);
    process.exit(error instanceof CliError ? 2 : 1);
  },
);
