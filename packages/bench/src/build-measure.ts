// One build through the real CLI path (`runBuild`: private redis-server, in-process workers,
// a file:// store), measured from outside: wall and CPU time, peak RSS, disk, Redis memory,
// store objects, and where the shard stage's time went. bench:scale and bench:simulate share it.
import { mkdir, readdir, readFile, rm, stat, statfs, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { runBuild, type RunSummary } from '@reindex/cli';
import { createRedis, startEmbeddedRedis } from '@reindex/queue';

export interface BuildMeasureOptions {
  catalogue: string;
  shardCount: number;
  workers: number;
  /** Emptied first; holds the store (and the config file, when `config` is given). */
  workDir: string;
  /** Config file contents (e.g. `catalogue.fields.embedding` for a catalogue with its own vectors). */
  config?: object;
}

export interface BuildMeasurement {
  summary: RunSummary;
  wallS: number;
  cpuS: number;
  maxRssBytes: number;
  redisPeakBytes: number;
  peakDiskBytes: number;
  objects: number;
  storeBytes: number;
  /** Summed over shards, each worker's own clock. */
  embedMs: number;
  addMs: number;
  truthMs: number;
  readMs: number;
  featurizeMs: number;
  inferenceMs: number;
  uploadMs: number;
  shardItems: number;
  factory: string;
  trainSampleSize: number;
  indexBytes: number;
  qualityQueries: number;
  shardStatsFiles: number;
}

export async function measureBuild(o: BuildMeasureOptions): Promise<BuildMeasurement> {
  const storeDir = path.join(o.workDir, 'store');
  await rm(storeDir, { recursive: true, force: true });
  await mkdir(o.workDir, { recursive: true });
  let configFile: string | undefined;
  if (o.config) {
    configFile = path.join(o.workDir, 'config.json');
    await writeFile(configFile, JSON.stringify(o.config, null, 2));
  }

  // Disk: the lowest free space seen during the build, against free space before it.
  const freeBytes = async () => {
    const s = await statfs(o.workDir);
    return s.bavail * s.bsize;
  };
  const freeBefore = await freeBytes();
  let freeLowest = freeBefore;
  const diskTimer = setInterval(() => {
    void freeBytes().then((f) => {
      freeLowest = Math.min(freeLowest, f);
    });
  }, 1000);

  const redis = await startEmbeddedRedis();
  const cpuBefore = process.cpuUsage();
  const t0 = Date.now();
  let summary: RunSummary;
  try {
    summary = await runBuild(
      {
        shardCount: o.shardCount,
        workers: o.workers,
        catalogue: o.catalogue,
        store: `file://${storeDir}`,
        redis: redis.url,
        dryRun: false,
        json: true,
        force: true,
        ...(configFile ? { config: configFile } : {}),
      },
      { log: () => undefined, update: () => undefined, clear: () => undefined } as never,
    );
  } finally {
    clearInterval(diskTimer);
  }
  const wallS = (Date.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  const client = createRedis(redis.url);
  const info = await client.info('memory');
  await client.quit();
  await redis.stop();

  const shardDir = path.join(storeDir, 'builds', summary.buildId, 'shards');
  const parts = { embedMs: 0, addMs: 0, truthMs: 0, readMs: 0, featurizeMs: 0, inferenceMs: 0, uploadMs: 0 };
  let shardItems = 0;
  const shardFiles = await readdir(shardDir);
  for (const f of shardFiles.filter((f) => f.endsWith('.json'))) {
    const s = JSON.parse(await readFile(path.join(shardDir, f), 'utf8')) as Partial<Record<keyof typeof parts, number>> & { items: number };
    for (const key of Object.keys(parts) as Array<keyof typeof parts>) parts[key] += s[key] ?? 0;
    shardItems += s.items;
  }
  let objects = 0,
    storeBytes = 0;
  const walk = async (dir: string): Promise<void> => {
    for (const e of await readdir(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) await walk(p);
      else {
        objects++;
        storeBytes += (await stat(p)).size;
      }
    }
  };
  await walk(storeDir);
  const manifest = JSON.parse(await readFile(new URL(summary.manifestUrl), 'utf8')) as {
    factory: string;
    files: Array<{ bytes: number }>;
    quality?: { queries?: number };
  };
  const spec = JSON.parse(await readFile(path.join(storeDir, 'builds', summary.buildId, 'build.json'), 'utf8')) as { index: { trainSampleSize: number } };
  return {
    summary,
    wallS,
    cpuS: (cpu.user + cpu.system) / 1e6,
    maxRssBytes: process.resourceUsage().maxRSS * 1024,
    redisPeakBytes: Number(/used_memory_peak:(\d+)/.exec(info)?.[1] ?? NaN),
    peakDiskBytes: freeBefore - freeLowest,
    objects,
    storeBytes,
    ...parts,
    shardItems,
    factory: manifest.factory,
    trainSampleSize: spec.index.trainSampleSize,
    indexBytes: manifest.files.reduce((a, f) => a + f.bytes, 0),
    qualityQueries: manifest.quality?.queries ?? 0,
    shardStatsFiles: shardFiles.length,
  };
}

export const gb = (b: number): string => `${(b / 1e9).toFixed(2)} GB`;
