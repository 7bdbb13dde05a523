// pnpm run bench:scale — a real catalogue end to end at scale on this machine: the sample
// generator's Parquet (100k-row row groups), in-process workers, a private redis-server, a
// file:// store, the reference model, index parameters from the default rule. Reports stage
// times, where the shard stage's time goes, CPU per item, peak RSS, disk, Redis memory, store
// objects and bytes, the index chosen and its recall. Writes its section of docs/benchmarks.md.
import { stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_SCALE_RATES_FILE, REPO_ROOT } from '@reindex/coordinator';
import { mergeScaleRates } from './rates.js';
import { gb, measureBuild } from './build-measure.js';
import { writeCatalogue } from '@reindex/sample-catalogue';
import { machineLine, writeBenchSection, intOption } from './report.js';
import { commandLineArgs } from '@reindex/core';

const { values } = parseArgs({
  args: commandLineArgs(),
  options: {
    items: { type: 'string', default: '10000000' },
    shards: { type: 'string', default: '64' },
    'no-write': { type: 'boolean', default: false },
  },
});
const items = intOption('items', values.items);
const shardCount = intOption('shards', values.shards);
if (!Number.isSafeInteger(items) || items < 1) throw new Error(`--items must be a positive integer, got ${values.items}`);
if (!Number.isSafeInteger(shardCount) || shardCount < 1) throw new Error(`--shards must be a positive integer, got ${values.shards}`);
const workDir = path.join(REPO_ROOT, 'var/bench');
const catalogue = path.join(workDir, `scale-${items}.parquet`);
const storeDir = path.join(workDir, 'scale-build');
const workers = os.availableParallelism();

// The catalogue is generated once and kept (its generation is not part of the build).
await stat(catalogue).then(
  () => false,
  async () => {
    const t = Date.now();
    await writeCatalogue(catalogue, { items, format: 'parquet', rowGroupSize: 100_000 });
    console.log(`generated ${catalogue} in ${((Date.now() - t) / 1000).toFixed(1)} s`);
    return true;
  },
);
const catalogueBytes = (await stat(catalogue)).size;
const m = await measureBuild({ catalogue, shardCount, workers, workDir: storeDir });
const { summary, wallS, cpuS, maxRssBytes, embedMs, addMs, truthMs, shardItems } = m;
const redisPeak = m.redisPeakBytes;
const manifest = { factory: m.factory };
console.log(JSON.stringify({ items, shardCount, workers, catalogueBytes, ...m }));

const us = (ms: number) => ((ms * 1000) / shardItems).toFixed(1);
const st = summary.stageSeconds;
const section = `## Scale (\`pnpm run bench:scale -- --items ${items} --shards ${shardCount}\`)

Command: \`pnpm run bench:scale -- --items ${items} --shards ${shardCount}\` · ${new Date().toISOString().slice(0, 10)} · ${machineLine()} · ${workers} in-process workers in the bench process, private redis-server, \`file://\` store, reference model (dim 128), the sample generator's Parquet (${gb(catalogueBytes)}, 100k-row row groups), index parameters from the default rule.

| items indexed | rejected | index | nprobe chosen | recall@10 | total s | plan | train | shards | merge | quality | publish |
|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|
| ${summary.items.toLocaleString('en')} | ${summary.rejected.toLocaleString('en')} | \`${manifest.factory}\` | ${summary.nprobe} | ${summary.recallAt10?.toFixed(3) ?? '–'} | **${wallS.toFixed(1)}** | ${(st.plan ?? 0).toFixed(1)} | ${(st.train ?? 0).toFixed(1)} | ${(st.shards ?? 0).toFixed(1)} | ${(st.merge ?? 0).toFixed(1)} | ${(st.quality ?? 0).toFixed(1)} | ${(st.publish ?? 0).toFixed(1)} |

- CPU time of the bench process (coordinator and both workers; redis-server apart): ${cpuS.toFixed(0)} s, **${((cpuS * 1e6) / summary.items).toFixed(1)} µs per item** (goal ≤ 30).
- Shard stage, wall time per item summed over shards (each worker's own clock): read (Parquet fetch, decode, rows) ${us(m.readMs)} µs; embed ${us(embedMs)} µs, of which featurization ${us(m.featurizeMs)} µs on the job's thread while onnxruntime ran ${us(m.inferenceMs)} µs in its own; faiss add ${us(addMs)} µs and exact truth ${us(truthMs)} µs (both off the JS thread, overlapping the next batch's read and embedding); sub-index write and uploads ${us(m.uploadMs)} µs.
- Peak RSS of the bench process (coordinator + ${workers} workers + merge + quality, one process): ${gb(maxRssBytes)}. Redis \`used_memory_peak\`: ${(redisPeak / 1e6).toFixed(1)} MB.
- Peak disk growth during the build (store + scratch): ${gb(m.peakDiskBytes)}; the store holds ${m.objects} objects, ${gb(m.storeBytes)} afterwards.

Not yet measured here (issue #10): per-process RSS with separate worker processes, read+parse and featurize apart from onnxruntime. Larger catalogues by simulation: \`bench:simulate\`; the BullMQ flow alone at 100,000 shards: \`bench:flow\`.
`;
if (!values['no-write']) {
  await writeBenchSection('scale', section);
  // The per-worker rates `reindex plan --hours` multiplies out (one in-process worker = one core here).
  const st2 = summary.stageSeconds;
  await mergeScaleRates(DEFAULT_SCALE_RATES_FILE, {
    measured: `pnpm run bench:scale -- --items ${items} --shards ${shardCount} · ${new Date().toISOString().slice(0, 10)} · ${machineLine()} · ${workers} in-process workers`,
    shardItemsPerWorkerSecond: Math.round(summary.items / ((st2.shards ?? NaN) * workers)),
    trainSecondsPerSampleVector: (st2.train ?? NaN) / m.trainSampleSize,
    mergeBytesPerSecond: Math.round(m.indexBytes / (st2.merge ?? NaN)),
    qualitySecondsPerThousandQueries: ((st2.quality ?? NaN) * 1000) / (m.qualityQueries || 1000),
    storeObjectsPerShard: m.shardStatsFiles / shardCount,
  });
}
console.log(section);
