// pnpm run bench:flow — the BullMQ flow of one build alone, with no-op processors: enqueue time
// of publish ← merge ← N shards, fan-in time until publish completes (the merge processor reads
// every child's return value as the real one does), and Redis memory, at 10,000 and 100,000
// shards. Writes its section of docs/benchmarks.md.
import { parseArgs } from 'node:util';
import { Worker, type Job } from 'bullmq';
import { QUEUE_NAMES, createRedis, jobIdFor, newBuildId, redisOptionsFromUrl, startEmbeddedRedis, DEFAULT_QUEUE_PREFIX } from '@reindex/queue';
import { DEFAULT_SCALE_RATES_FILE } from '@reindex/coordinator';
import { BuildQueues } from '@reindex/pipeline';
import { mergeScaleRates } from './rates.js';
import { machineLine, writeBenchSection, intOption } from './report.js';
import { commandLineArgs } from '@reindex/core';

const { values } = parseArgs({
  args: commandLineArgs(),
  options: {
    shards: { type: 'string', default: '10000,100000' },
    concurrency: { type: 'string', default: '64' },
    'no-write': { type: 'boolean', default: false },
  },
});
const shardCounts = values.shards.split(',').map(Number);
const concurrency = intOption('concurrency', values.concurrency);
for (const n of [...shardCounts, concurrency])
  if (!Number.isSafeInteger(n) || n < 1) throw new Error(`--shards and --concurrency take positive integers, got ${n}`);

/** A shard's return value about the size of a real ShardStats (its keys, a few numbers and paths). */
const stats = (shard: number) => ({
  shard,
  items: 156_250,
  rejected: 0,
  rejectedByReason: {},
  rejectedExamples: [],
  index: { path: `builds/b/shards/${shard}.index`, bytes: 6_500_000, sha256: 'f'.repeat(64) },
  truth: { path: `builds/b/shards/${shard}.truth.bin`, bytes: 1_200_000, sha256: 'e'.repeat(64), queries: 1000, k: 100 },
  startedAt: new Date().toISOString(),
  finishedAt: new Date().toISOString(),
  workerId: 'bench',
  embedMs: 1,
  addMs: 1,
  truthMs: 1,
});

interface Row {
  shards: number;
  enqueueS: number;
  fanInS: number;
  mergeReadS: number;
  memoryAfterEnqueueMb: number;
  memoryPeakMb: number;
}
const rows: Row[] = [];
for (const shards of shardCounts) {
  const redis = await startEmbeddedRedis();
  const client = createRedis(redis.url);
  const memory = async (field: string) => Number(new RegExp(`${field}:(\\d+)`).exec(await client.info('memory'))?.[1] ?? NaN) / 1e6;
  const queues = new BuildQueues(redis.url);
  const data = { buildId: newBuildId(new Date()), storeUrl: 'file:///nowhere' };
  let t = performance.now();
  await queues.enqueueFanOut(data, shards);
  const enqueueS = (performance.now() - t) / 1000;
  const memoryAfterEnqueueMb = await memory('used_memory');
  let mergeReadS = 0;
  const connection = redisOptionsFromUrl(redis.url);
  const opts = { connection, prefix: DEFAULT_QUEUE_PREFIX };
  t = performance.now();
  const workers = [
    new Worker(QUEUE_NAMES.shard, async (job: Job) => stats((job.data as { shard: number }).shard), { ...opts, concurrency }),
    new Worker(
      QUEUE_NAMES.merge,
      async (job: Job) => {
        const r = performance.now();
        const children = Object.keys(await job.getChildrenValues()).length;
        mergeReadS = (performance.now() - r) / 1000;
        if (children !== shards) throw new Error(`merge saw ${children} children, expected ${shards}`);
        return { children };
      },
      opts,
    ),
    new Worker(QUEUE_NAMES.publish, async () => ({ published: true }), opts),
  ];
  const publish = jobIdFor(data.buildId, 'publish');
  for (;;) {
    const state = await (await queues.queues.publish.getJob(publish))?.getState();
    if (state === 'completed') break;
    if (state === 'failed') throw new Error(`publish failed: ${(await queues.queues.publish.getJob(publish))?.failedReason}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const fanInS = (performance.now() - t) / 1000;
  const memoryPeakMb = await memory('used_memory_peak');
  await Promise.all(workers.map((w) => w.close()));
  await queues.close();
  await client.quit();
  await redis.stop();
  const row = { shards, enqueueS, fanInS, mergeReadS, memoryAfterEnqueueMb, memoryPeakMb };
  console.log(JSON.stringify(row));
  rows.push(row);
}

const section = `## BullMQ flow alone (\`pnpm run bench:flow -- --shards ${values.shards} --concurrency ${concurrency}\`)

${machineLine()}. One build's flow (publish ← merge ← N shards, as \`BuildQueues.enqueueFanOut\` adds it) on a private redis-server, no-op processors in one process (shard concurrency ${concurrency}): each shard returns a ShardStats-sized value, the merge reads all children's values (\`getChildrenValues\`) as the real merge does.

| shards | enqueue s | fan-in s (all shards → publish done) | merge's read of the children's values s | Redis used_memory after enqueue MB | Redis used_memory_peak MB |
|---:|---:|---:|---:|---:|---:|
${rows.map((r) => `| ${r.shards.toLocaleString('en')} | ${r.enqueueS.toFixed(2)} | ${r.fanInS.toFixed(1)} | ${r.mergeReadS.toFixed(2)} | ${r.memoryAfterEnqueueMb.toFixed(1)} | ${r.memoryPeakMb.toFixed(1)} |`).join('\n')}
`;
if (!values['no-write']) {
  await writeBenchSection('flow', section);
  const largest = rows.reduce((a, b) => (b.shards > a.shards ? b : a));
  await mergeScaleRates(DEFAULT_SCALE_RATES_FILE, { redisBytesPerShard: Math.round((largest.memoryPeakMb * 1e6) / largest.shards) });
}
console.log(section);
