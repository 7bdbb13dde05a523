// pnpm run bench:simulate — larger catalogues than this machine can embed in a session, by
// simulation: a generated catalogue of clustered vectors (`synthetic:gmm`, see core's
// synthetic.ts) goes through the same train → shard → merge → quality → publish path as a real
// one, with the item tower skipped (`catalogue.fields.embedding`). One child process per size,
// so each size's peak RSS is its own. Writes its section of docs/benchmarks.md.
import { execFile } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { REPO_ROOT } from '@reindex/coordinator';
import { SYNTHETIC_DEFAULTS, SYNTHETIC_FIELDS, syntheticUrl, commandLineArgs } from '@reindex/core';
import { gb, measureBuild, type BuildMeasurement } from './build-measure.js';
import { machineLine, writeBenchSection, intOption } from './report.js';

const { values } = parseArgs({
  args: commandLineArgs(),
  options: {
    sizes: { type: 'string', default: '1000000,10000000,100000000' },
    /** Items per shard (the shard count follows the size). */
    'shard-items': { type: 'string', default: '400000' },
    child: { type: 'string' },
    /** A faiss factory string instead of the rule's choice (e.g. a larger PQ to compare recall). */
    factory: { type: 'string' },
    'no-write': { type: 'boolean', default: false },
  },
});
const shardItems = intOption('shard-items', values['shard-items']);
if (!Number.isSafeInteger(shardItems) || shardItems < 1) throw new Error(`--shard-items must be a positive integer, got ${values['shard-items']}`);
const workers = os.availableParallelism();
const shardsFor = (items: number) => Math.max(16, Math.ceil(items / shardItems));
const catalogueFor = (items: number) =>
  syntheticUrl({
    items,
    dim: SYNTHETIC_DEFAULTS.dim,
    modes: SYNTHETIC_DEFAULTS.modes,
    spread: SYNTHETIC_DEFAULTS.spread,
    rank: SYNTHETIC_DEFAULTS.rank,
    seed: SYNTHETIC_DEFAULTS.seed,
  });

if (values.child !== undefined) {
  // One size, in this process: print the measurement as the last line.
  const items = intOption('child', values.child);
  const m = await measureBuild({
    catalogue: catalogueFor(items),
    shardCount: shardsFor(items),
    workers,
    workDir: path.join(REPO_ROOT, 'var/bench/simulate'),
    config: { catalogue: { fields: { embedding: SYNTHETIC_FIELDS.embedding } }, ...(values.factory ? { index: { factory: values.factory } } : {}) },
  });
  console.log(JSON.stringify(m));
} else {
  const sizes = values.sizes.split(',').map((s) => Number(s.trim()));
  for (const s of sizes) if (!Number.isSafeInteger(s) || s < 1) throw new Error(`--sizes must be positive integers, got ${values.sizes}`);
  const rows: Array<{ items: number; m: BuildMeasurement }> = [];
  for (const items of sizes) {
    const t = Date.now();
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [fileURLToPath(import.meta.url), '--child', String(items), '--shard-items', String(shardItems), ...(values.factory ? ['--factory', values.factory] : [])],
      { maxBuffer: 64 * 1024 ** 2 },
    );
    const m = JSON.parse(stdout.trim().split('\n').at(-1)!) as BuildMeasurement;
    rows.push({ items, m });
    console.log(`${items.toLocaleString('en')} items: ${((Date.now() - t) / 1000).toFixed(1)} s`, JSON.stringify(m));
  }
  const f1 = (x: number | undefined) => (x ?? 0).toFixed(1);
  const table = rows
    .map(({ items, m }) => {
      const st = m.summary.stageSeconds;
      return `| ${items.toLocaleString('en')} | ${m.summary.shards} | \`${m.factory}\` | ${m.trainSampleSize.toLocaleString('en')} | ${m.summary.nprobe} | ${m.summary.recallAt10?.toFixed(3) ?? '–'} | **${f1(m.wallS)}** | ${f1(st.train)} | ${f1(st.shards)} | ${f1(st.merge)} | ${f1(st.quality)} | ${((m.cpuS * 1e6) / m.summary.items).toFixed(1)} | ${((m.addMs * 1000) / m.shardItems).toFixed(1)} | ${((m.truthMs * 1000) / m.shardItems).toFixed(1)} | ${gb(m.maxRssBytes)} | ${gb(m.peakDiskBytes)} | ${gb(m.indexBytes)} | ${(m.redisPeakBytes / 1e6).toFixed(1)} MB |`;
    })
    .join('\n');
  const command = `pnpm run bench:simulate -- --sizes ${sizes.join(',')}${shardItems === 400_000 ? '' : ` --shard-items ${shardItems}`}${values.factory ? ` --factory ${values.factory}` : ''}`;
  const section = `## Scale by simulation (\`${command}\`)

Command: \`${command}\` · ${new Date().toISOString().slice(0, 10)} · ${machineLine()} · one child process per size, ${workers} in-process workers, private redis-server, \`file://\` store, ${values.factory ? `index factory \`${values.factory}\` (given)` : 'index parameters from the default rule'}.

The catalogue is generated (\`${catalogueFor(0).replace('items=0', 'items=N')}\`): ${SYNTHETIC_DEFAULTS.modes} mixture modes of skewed sizes, items spread along ${SYNTHETIC_DEFAULTS.rank} latent directions (core's \`synthetic.ts\`), unit vectors of dim ${SYNTHETIC_DEFAULTS.dim}. No item tower runs (\`catalogue.fields.embedding\`); every other stage is the real one. Quality queries are held-out items' own vectors, each with its own item left out of both lists (leave-one-out).

| items | shards | index | train sample | nprobe chosen | recall@10 | total s | train | shards | merge | quality | CPU µs/item | add µs/item | truth µs/item | peak RSS | peak disk | index size | Redis peak |
|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|
${table}

- Shard stage per item (summed over shards, each worker's own clock, overlapping the next batch's generation): faiss add (coarse assignment + PQ encoding), exact truth (the held-out queries against the shard's items).
- Peak RSS is the child process's (coordinator + ${workers} workers + merge + quality in one process).
`;
  // A given factory is a comparison beside the default rule's section, not a replacement of it.
  if (!values['no-write']) await writeBenchSection(values.factory ? `simulate-${values.factory}` : 'simulate', section);
  console.log(section);
}
