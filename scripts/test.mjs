#!/usr/bin/env node
// `pnpm test`: runs every package's tests through turbo, passes their output through, and ends
// with one line that totals node's test-runner counts across packages ("tests: N passed, N
// failed, N skipped"), so a reader (or CI) sees the whole suite's result last.
import { spawn } from 'node:child_process';
import readline from 'node:readline';

const args = ['exec', 'turbo', 'run', 'test', '--concurrency=1', '--log-order=stream', '--continue', ...process.argv.slice(2)];
const child = spawn('pnpm', args, { stdio: ['ignore', 'pipe', 'inherit'] });
const totals = { pass: 0, fail: 0, skipped: 0, cancelled: 0 };
const lines = readline.createInterface({ input: child.stdout });
lines.on('line', (line) => {
  process.stdout.write(`${line}\n`);
  const m = /# (pass|fail|skipped|cancelled) (\d+)\s*$/.exec(line);
  if (m) totals[m[1]] += Number(m[2]);
});
child.on('close', (code) => {
  const failed = totals.fail + totals.cancelled;
  process.stdout.write(`\ntests: ${totals.pass} passed, ${failed} failed, ${totals.skipped} skipped\n`);
  process.exit(code === 0 && failed === 0 ? 0 : code || 1);
});
