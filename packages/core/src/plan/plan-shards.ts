import type { Catalogue } from '../catalogue/catalogue.js';
import { isRowAddressable, type CatalogueFileInfo } from '../catalogue/catalogue-types.js';
import type { ShardPart, ShardSpec } from '../catalogue/shard-spec.js';
import { PlanError } from '../errors.js';
import type { ObjectStore } from '../store/object-store.js';
import { mapLimit } from '../util/map-limit.js';
import { nextLineStart, previousLineStart } from './line-boundary.js';
import { gzipLinesPerByte, jsonlBytesPerLine } from './row-estimate.js';
import { DEFAULT_PLAN_OPTIONS, type PlanOptions, type ShardPlan } from './shard-plan.js';

/**
 * A file laid out on the global "row axis". `size` is in the unit's own coordinate: rows for
 * Parquet, bytes for plain JSONL, 1 for gzip JSONL (indivisible). `weight` is its (estimated) rows.
 */
interface Unit {
  info: CatalogueFileInfo;
  size: number;
  weight: number;
  from: number;
  bytesPerLine: number;
}

/** A cut between shards: position `pos` inside unit `unit`; `{ unit: units.length, pos: 0 }` is the end. */
interface Cut {
  unit: number;
  pos: number;
}

/**
 * Splits a catalogue into exactly `shardCount` shards balanced by rows, from metadata only:
 * Parquet by row ranges (row counts from footers), plain JSONL by byte ranges cut at line starts
 * (one small ranged read per cut), gzip JSONL as whole files. See README "Shard planning".
 */
export async function planShards(catalogue: Catalogue, shardCount: number, options: PlanOptions = {}): Promise<ShardPlan> {
  const { jsonlSampleBytes, gzipSampleBytes, ioConcurrency } = { ...DEFAULT_PLAN_OPTIONS, ...options };
  if (!Number.isSafeInteger(shardCount) || shardCount < 1) {
    throw new PlanError('SHARD_COUNT_INVALID', `shardCount must be a positive integer, got ${String(shardCount)}`, { option: 'shardCount' });
  }
  const description = await catalogue.describe();
  const store = catalogue.store;

  // Bytes per line is sampled per JSONL file: files from different exports differ a lot.
  const units: Unit[] = [];
  const estimates = await mapLimit(description.files, ioConcurrency, async (info) => {
    if (info.format === 'jsonl') return jsonlBytesPerLine(store, info.file, info.bytes, jsonlSampleBytes);
    if (info.format === 'jsonl.gz') return gzipLinesPerByte(store, info.file, info.bytes, gzipSampleBytes);
    return 0;
  });
  let weightSoFar = 0;
  description.files.forEach((info, i) => {
    let size: number;
    let weight: number;
    let bytesPerLine = 0;
    if (isRowAddressable(info.format)) {
      size = info.rows ?? 0;
      weight = size;
    } else if (info.format === 'jsonl') {
      size = info.bytes;
      bytesPerLine = estimates[i]!;
      weight = size / bytesPerLine;
    } else {
      size = info.bytes === 0 ? 0 : 1;
      // Never weigh a non-empty gzip file at 0: it must be read so problems in it surface.
      weight = size === 0 ? 0 : Math.max(1, estimates[i]! * info.bytes);
    }
    if (size === 0) return; // empty files hold no rows; they stay listed in plan.files
    units.push({ info, size, weight, from: weightSoFar, bytesPerLine });
    weightSoFar += weight;
  });
  const totalWeight = weightSoFar;
  if (units.length === 0) {
    throw new PlanError('CATALOGUE_EMPTY', `catalogue ${catalogue.source} has no rows to plan`);
  }

  const capacity = units.reduce((sum, u) => sum + (u.info.format === 'jsonl.gz' ? 1 : Math.max(1, Math.floor(u.weight))), 0);
  const exact = units.every((u) => isRowAddressable(u.info.format));
  if (shardCount > capacity) {
    throw new PlanError(
      'SHARD_COUNT_TOO_LARGE',
      `shardCount ${shardCount} is larger than the catalogue can be split into: at most ${exact ? '' : 'about '}${capacity} shard(s) ` +
        `(${describeCapacity(units)}); use shardCount <= ${capacity}`,
      { option: 'shardCount' },
    );
  }

  // Ideal cut k sits at k/N of the total weight; map it into the unit containing it.
  const cuts: Cut[] = [{ unit: 0, pos: 0 }];
  const jsonlCuts: Array<{ cut: Cut; byte: number }> = [];
  let u = 0;
  for (let k = 1; k < shardCount; k++) {
    const target = (totalWeight * k) / shardCount;
    while (u < units.length - 1 && units[u]!.from + units[u]!.weight <= target) u++;
    const unit = units[u]!;
    const fraction = Math.min(Math.max((target - unit.from) / unit.weight, 0), 1);
    const cut: Cut = { unit: u, pos: 0 };
    if (isRowAddressable(unit.info.format)) cut.pos = Math.round(fraction * unit.size);
    else if (unit.info.format === 'jsonl.gz') cut.pos = fraction < 0.5 ? 0 : 1;
    else jsonlCuts.push({ cut, byte: Math.round(fraction * unit.size) });
    cuts.push(cut);
  }
  await mapLimit(jsonlCuts, ioConcurrency, async ({ cut, byte }) => {
    const unit = units[cut.unit]!;
    cut.pos = await nextLineStart(store, unit.info.file, unit.info.bytes, byte);
  });
  cuts.push({ unit: units.length, pos: 0 });
  for (const cut of cuts) normalize(cut, units);
  await spreadCollidingCuts(cuts, units, store);

  const shards: ShardSpec[] = [];
  let nonEmpty = 0;
  for (let k = 0; k < shardCount; k++) if (compare(cuts[k]!, cuts[k + 1]!) < 0) nonEmpty++;
  if (nonEmpty < shardCount) {
    throw new PlanError(
      'SHARD_COUNT_TOO_LARGE',
      `shardCount ${shardCount} is larger than the catalogue can be split into: cutting at line starts and whole gzip files ` +
        `gave only ${nonEmpty} non-empty shard(s); use shardCount <= ${nonEmpty}`,
      { option: 'shardCount' },
    );
  }
  for (let k = 0; k < shardCount; k++) shards.push(buildShard(k, cuts[k]!, cuts[k + 1]!, units));

  return {
    formatVersion: 1,
    source: catalogue.source,
    shardCount,
    createdAt: (options.now ?? new Date()).toISOString(),
    totals: {
      files: description.files.length,
      bytes: description.totalBytes,
      estimatedRows: Math.round(totalWeight),
      rowsExact: exact,
    },
    files: description.files.map((f) => ({ file: f.file, format: f.format, bytes: f.bytes, ...(f.rows === undefined ? {} : { rows: f.rows }) })),
    ...(description.skipped.length > 0 ? { skipped: description.skipped } : {}),
    shards,
  };
}

function compare(a: Cut, b: Cut): number {
  return a.unit - b.unit || a.pos - b.pos;
}

/** A cut at the very end of a unit is the same place as the start of the next one. */
function normalize(cut: Cut, units: Unit[]): void {
  while (cut.unit < units.length && cut.pos >= units[cut.unit]!.size) {
    cut.unit++;
    cut.pos = 0;
  }
}

/**
 * Two cuts can land on the same place, which would leave a shard empty: gzip cuts snap to file
 * boundaries, and JSONL cuts snap to line starts (several byte targets inside one very long line
 * all resolve to its end). Push each colliding cut forward to the next possible position, then
 * pull cuts piled up at the end back, one position at a time. JSONL positions need a small
 * ranged read; this only runs for collisions, which are rare.
 */
async function spreadCollidingCuts(cuts: Cut[], units: Unit[], store: ObjectStore): Promise<void> {
  const last = cuts.length - 1;
  for (let k = 1; k < last; k++) {
    if (compare(cuts[k]!, cuts[k - 1]!) > 0) continue;
    const prev = cuts[k - 1]!;
    const unit = units[prev.unit];
    if (unit === undefined) continue;
    const pos = unit.info.format === 'jsonl' ? await nextLineStart(store, unit.info.file, unit.info.bytes, prev.pos + 1) : prev.pos + 1;
    cuts[k] = { unit: prev.unit, pos };
    normalize(cuts[k]!, units);
  }
  for (let k = last - 1; k >= 1; k--) {
    if (compare(cuts[k]!, cuts[k + 1]!) < 0) continue;
    const next = cuts[k + 1]!;
    // The position just before `next`: inside its unit, or the last position of the unit before.
    const unitIndex = next.pos > 0 ? next.unit : next.unit - 1;
    const unit = units[unitIndex];
    if (unit === undefined) continue;
    const before = next.pos > 0 ? next.pos : unit.size;
    const pos = unit.info.format === 'jsonl' ? await previousLineStart(store, unit.info.file, before) : isRowAddressable(unit.info.format) ? before - 1 : 0;
    cuts[k] = { unit: unitIndex, pos };
  }
}

function buildShard(index: number, a: Cut, b: Cut, units: Unit[]): ShardSpec {
  const parts: ShardPart[] = [];
  let rows = 0;
  let bytes = 0;
  const lastUnit = b.pos > 0 ? b.unit : b.unit - 1;
  for (let u = a.unit; u <= lastUnit; u++) {
    const unit = units[u]!;
    const from = u === a.unit ? a.pos : 0;
    const to = u === b.unit ? b.pos : unit.size;
    const { file, bytes: fileBytes } = unit.info;
    if (isRowAddressable(unit.info.format)) {
      parts.push({ kind: unit.info.format === 'synthetic' ? 'synthetic-rows' : 'parquet-rows', file, fileBytes, rowStart: from, rowEnd: to });
      rows += to - from;
      bytes += (fileBytes * (to - from)) / unit.size;
    } else if (unit.info.format === 'jsonl') {
      parts.push({ kind: 'jsonl-range', file, fileBytes, start: from, end: to });
      rows += (to - from) / unit.bytesPerLine;
      bytes += to - from;
    } else {
      parts.push({ kind: 'jsonl-gz', file, fileBytes });
      rows += unit.weight;
      bytes += fileBytes;
    }
  }
  return { index, parts, estimatedRows: Math.round(rows), estimatedBytes: Math.round(bytes) };
}

function describeCapacity(units: Unit[]): string {
  const parquetRows = units.filter((u) => isRowAddressable(u.info.format)).reduce((s, u) => s + u.size, 0);
  const jsonlRows = units.filter((u) => u.info.format === 'jsonl').reduce((s, u) => s + Math.max(1, Math.floor(u.weight)), 0);
  const gzFiles = units.filter((u) => u.info.format === 'jsonl.gz').length;
  const parts: string[] = [];
  if (parquetRows > 0) parts.push(`${parquetRows} Parquet row(s)`);
  if (jsonlRows > 0) parts.push(`~${jsonlRows} JSONL line(s), estimated from bytes`);
  if (gzFiles > 0) parts.push(`${gzFiles} gzip file(s), each one indivisible unit`);
  return parts.join(' + ');
}
