#!/usr/bin/env node
// `node scripts/compare-published.mjs --baseline REV`: builds one catalogue with this tree and
// with the tree at REV (a git worktree, installed offline and built), both on this machine with
// the same model bundle, shards and workers, and compares what each published: every file's
// bytes (sha256) and the manifest, modulo what differs between any two builds (build id,
// version, times, measured latencies). Exits 1 on a difference. A refactor that claims to change
// no published byte is checked with it (README "Development").
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  args: process.argv.slice(2).filter((a) => a !== '--'),
  options: {
    baseline: { type: 'string' },
    items: { type: 'string', default: '20000' },
    'shard-count': { type: 'string', default: '4' },
    workers: { type: 'string', default: '2' },
    keep: { type: 'boolean', default: false },
  },
});
if (!values.baseline) {
  process.stderr.write('usage: node scripts/compare-published.mjs --baseline REV [--items N] [--shard-count S] [--workers W] [--keep]\n');
  process.exit(2);
}
const repo = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const work = await mkdtemp(path.join(os.tmpdir(), 'reindex-compare-'));
const log = (line) => process.stderr.write(`compare: ${line}\n`);

function run(cwd, command, args, env = {}) {
  const result = spawnSync(command, args, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} (in ${cwd}) exited ${result.status}`);
  return result.stdout;
}

try {
  const catalogue = path.join(work, 'catalogue.jsonl');
  run(repo, process.execPath, ['packages/sample-catalogue/dist/cli.js', '--items', values.items, '--format', 'jsonl', '--out', catalogue]);
  const model = path.join(repo, 'var/models/reference');
  if (!existsSync(path.join(model, 'bundle.json'))) throw new Error(`no reference model at ${model}: run one build (pnpm run reindex --shard-count 2) first`);

  const baselineTree = path.join(work, 'baseline');
  log(`checking out ${values.baseline} into ${baselineTree}`);
  execFileSync('git', ['-C', repo, 'worktree', 'add', '--detach', baselineTree, values.baseline], { stdio: 'ignore' });
  log('installing (offline) and building the baseline');
  run(baselineTree, 'pnpm', ['install', '--offline', '--frozen-lockfile'], { ONNXRUNTIME_NODE_INSTALL: 'skip' });
  run(baselineTree, 'pnpm', ['build']);

  const published = {};
  for (const [label, tree] of [
    ['baseline', baselineTree],
    ['current', repo],
  ]) {
    const store = path.join(work, `store-${label}`);
    log(`building with the ${label} tree`);
    const out = run(tree, process.execPath, [
      'packages/cli/dist/main.js',
      '--catalogue',
      catalogue,
      '--model',
      model,
      '--store',
      store,
      '--shard-count',
      values['shard-count'],
      '--workers',
      values.workers,
      '--json',
    ]);
    const summary = JSON.parse(out.trim().split('\n').at(-1));
    const manifest = JSON.parse(await readFile(new URL(summary.manifestUrl), 'utf8'));
    published[label] = manifest;
  }

  const differences = compare(normalise(published.baseline), normalise(published.current));
  if (differences.length === 0) {
    log(`no published byte changed: ${published.current.files.map((f) => `${f.path} ${f.sha256.slice(0, 12)}`).join(', ')}; manifests equal modulo ids and times`);
  } else {
    for (const d of differences) log(`DIFFERS ${d}`);
    process.exitCode = 1;
  }
} finally {
  spawnSync('git', ['-C', repo, 'worktree', 'remove', '--force', path.join(work, 'baseline')], { stdio: 'ignore' });
  if (values.keep) log(`kept ${work}`);
  else await rm(work, { recursive: true, force: true });
}

/** The manifest without what differs between any two builds: ids, versions, times, measured latencies. */
function normalise(manifest) {
  const drop = new Set(['buildId', 'version', 'createdAt', 'stageTimings', 'msPerQuery', 'measureMs']);
  const walk = (value) => {
    if (Array.isArray(value)) return value.map(walk);
    if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).flatMap(([k, v]) => (drop.has(k) ? [] : [[k, walk(v)]])));
    if (typeof value === 'string') return value.replace(/[\d.]+ ms\/query/g, '<t> ms/query');
    return value;
  };
  return walk(manifest);
}

function compare(a, b, at = '') {
  if (JSON.stringify(a) === JSON.stringify(b)) return [];
  if (a && b && typeof a === 'object' && typeof b === 'object') {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])];
    return keys.flatMap((k) => compare(a[k], b[k], `${at}.${k}`));
  }
  return [`${at || '.'}: baseline ${JSON.stringify(a)} vs current ${JSON.stringify(b)}`];
}
