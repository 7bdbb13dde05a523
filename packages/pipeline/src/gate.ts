import { DEFAULT_CONFIG, qualityRecordKey, type Manifest, type ObjectStore, type QualityConfig, ReindexError } from '@reindex/core';
import { readBuildSpec, type BuildSpec } from './build-spec.js';
import type { MergeResult } from './job-results.js';
import type { QualityReport } from './quality-report.js';
import { parseQualityRecord } from './records.js';
import { applyRetention, moveLatest, pruneBuilds, readLatest, readManifest, writeManifest } from './versions.js';

export type GateCheckName = 'recall' | 'item-drop' | 'rejected-rows';

export interface GateCheck {
  check: GateCheckName;
  passed: boolean;
  message: string;
}

export interface GateVerdict {
  passed: boolean;
  /** Names of the failed checks (empty when passed). */
  failed: GateCheckName[];
  checks: GateCheck[];
}

export interface GateInputs {
  /** The build's quality settings; absent for builds from before the gate (recall is then not judged). */
  quality: QualityConfig | undefined;
  report: QualityReport;
  items: number;
  rejected: number;
  /** The version LATEST points to now, if any. */
  previous?: { version: string; items: number };
}

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

/** Judges a build: target recall reached within the latency budget, item count, rejected rows. */
export function evaluateGate(input: GateInputs): GateVerdict {
  const q = input.quality ?? DEFAULT_CONFIG.index.quality;
  const r = input.report;
  const checks: GateCheck[] = [];

  if (!r.measured) {
    checks.push(
      input.quality
        ? { check: 'recall', passed: false, message: `recall could not be measured: ${r.skipped}` }
        : { check: 'recall', passed: true, message: `not measured: ${r.skipped}` },
    );
  } else if (r.reachesTarget && r.withinBudget) {
    checks.push({
      check: 'recall',
      passed: true,
      message: `recall@10 ${r.recallAt10} >= ${q.targetRecallAt10} at nprobe ${r.nprobe} (${r.msPerQuery} ms/query)`,
    });
  } else {
    const best = r.sweep.reduce((b, row) => (row.recallAt10 > b.recallAt10 ? row : b), r.sweep[0]!);
    const cap = r.target.maxNprobe !== undefined ? `, nprobe capped at ${r.target.maxNprobe}` : '';
    const message =
      r.target.fixedNprobe !== undefined
        ? `the configured nprobe ${r.nprobe} gives recall@10 ${r.recallAt10} at ${r.msPerQuery} ms/query (target ${q.targetRecallAt10} within ${q.latencyBudgetMs} ms)`
        : `no nprobe reaches recall@10 ${q.targetRecallAt10} within ${q.latencyBudgetMs} ms/query${cap}: the best within budget is ${r.recallAt10} at nprobe ${r.nprobe}` +
          ` (best measured: ${best.recallAt10} at nprobe ${best.nprobe}, ${best.msPerQuery} ms/query)`;
    checks.push({ check: 'recall', passed: false, message });
  }

  if (input.previous && input.previous.items > 0) {
    const drop = (input.previous.items - input.items) / input.previous.items;
    checks.push({
      check: 'item-drop',
      passed: drop <= q.maxItemDropFraction,
      message:
        drop > 0
          ? `${input.items} items, ${pct(drop)} fewer than the ${input.previous.items} of LATEST version ${input.previous.version} (at most ${pct(q.maxItemDropFraction)} allowed)`
          : `${input.items} items, no drop against LATEST version ${input.previous.version} (${input.previous.items})`,
    });
  } else {
    checks.push({ check: 'item-drop', passed: true, message: 'no LATEST version to compare with' });
  }

  const rows = input.items + input.rejected;
  const fraction = rows === 0 ? 0 : input.rejected / rows;
  checks.push({
    check: 'rejected-rows',
    passed: fraction <= q.maxRejectedFraction,
    message: `${input.rejected} of ${rows} rows rejected (${pct(fraction)}; at most ${pct(q.maxRejectedFraction)} allowed)`,
  });

  const failed = [...new Set(checks.filter((c) => !c.passed).map((c) => c.check))];
  return { passed: failed.length === 0, failed, checks };
}

/** The version LATEST points to, with its item count, or undefined (none, or unreadable). */
export async function currentLatest(store: ObjectStore, name: string): Promise<GateInputs['previous']> {
  const latest = await readLatest(store, name).catch(() => null);
  if (!latest) return undefined;
  const manifest = await readManifest(store, name, latest.version).catch(() => undefined);
  return manifest ? { version: latest.version, items: manifest.catalogue.items } : undefined;
}

/** `builds/<buildId>/quality.json`: the report, the verdict, and what a later publish needs. */
export interface QualityRecord {
  formatVersion: 1;
  buildId: string;
  name: string;
  version: string;
  createdAt: string;
  report: QualityReport;
  gate: GateVerdict;
  merge: MergeResult;
  stageTimings: Record<string, number>;
}

export async function writeQualityRecord(store: ObjectStore, record: QualityRecord): Promise<void> {
  await store.put(qualityRecordKey(record.buildId), Buffer.from(JSON.stringify(record, null, 2)), { contentType: 'application/json' });
}

export async function readQualityRecord(store: ObjectStore, buildId: string): Promise<QualityRecord> {
  const key = qualityRecordKey(buildId);
  if (!(await store.exists(key))) {
    throw new QualityGateError('QUALITY_REPORT_MISSING', `build ${buildId} has no ${key}: it did not reach the quality stage (or ran before it existed)`);
  }
  return parseQualityRecord(await store.get(key), `${store.url}/${key}`);
}

export class QualityGateError extends ReindexError {
  declare readonly code: 'QUALITY_GATE_FAILED' | 'QUALITY_REPORT_MISSING';
  constructor(code: 'QUALITY_GATE_FAILED' | 'QUALITY_REPORT_MISSING', message: string) {
    super(code, message);
  }
}

/** The message a failed gate reports (names every failed check). */
export function gateFailureMessage(buildId: string, gate: GateVerdict): string {
  const reasons = gate.checks.filter((c) => !c.passed).map((c) => `${c.check}: ${c.message}`);
  return `quality gate failed (${gate.failed.join(', ')}): ${reasons.join('; ')}. LATEST is unchanged; to publish anyway: reindex publish ${buildId} --force`;
}

/** The manifest of a build's version, with the quality report (and gate verdict) in `quality`. */
export function buildManifest(spec: BuildSpec, record: Pick<QualityRecord, 'report' | 'gate' | 'merge' | 'stageTimings'>, forced: boolean): Manifest {
  const { merge, report, gate } = record;
  // The quality files are the version's files like the index; the report keeps its measures.
  const { files: qualityFiles, ...measured } = report;
  return {
    name: spec.name,
    version: spec.version,
    buildId: spec.buildId,
    createdAt: new Date().toISOString(),
    dim: spec.model.dim,
    metric: spec.index.metric,
    factory: spec.index.factory,
    nprobe: report.nprobe,
    ntotal: merge.ntotal,
    files: [...merge.files, ...(qualityFiles ?? [])],
    modelBundleHash: spec.model.contentHash,
    catalogue: { source: spec.catalogue.url, items: merge.items, rejected: merge.rejected },
    stageTimings: { ...record.stageTimings },
    quality: { ...measured, gate, ...(forced ? { forced: true } : {}) },
    ...(merge.idMap ? { idMap: merge.idMap } : {}),
    ...(spec.index.adjusted ? { indexAdjusted: spec.index.adjusted } : {}),
    build: merge.incremental
      ? {
          mode: 'incremental',
          baseVersion: merge.incremental.baseVersion,
          carried: merge.incremental.carried,
          changed: merge.incremental.changed,
          added: merge.incremental.added,
          // The base's items that left and came back embedded are the changed ones; the rest are gone.
          deleted: merge.incremental.removedFromBase.count - merge.incremental.changed,
        }
      : { mode: 'full', ...(spec.fullBuildReason ? { reason: spec.fullBuildReason } : {}) },
  };
}

/** Writes the manifest (verifying every file), moves LATEST to it, then applies retention. */
export async function publishManifest(
  store: ObjectStore,
  manifest: Manifest,
  keepVersions: number,
): Promise<{ manifestKey: string; deletedVersions: string[] }> {
  const manifestKey = await writeManifest(store, manifest);
  await moveLatest(store, manifest.name, manifest.version);
  const deletedVersions = await applyRetention(store, manifest.name, keepVersions);
  await pruneBuilds(store, manifest.name, keepVersions, { spareBuildId: manifest.buildId });
  return { manifestKey, deletedVersions };
}

export interface PublishBuildResult {
  buildId: string;
  version: string;
  manifestKey: string;
  forced: boolean;
  gate: GateVerdict;
  deletedVersions: string[];
}

/**
 * `reindex publish <buildId> [--force]`: publishes a finished build from its quality.json. The
 * gate is judged again against the LATEST of now; a failed gate refuses (naming why) unless
 * `force`, which the manifest then records (`quality.forced`).
 */
export async function publishBuild(store: ObjectStore, buildId: string, options: { force?: boolean } = {}): Promise<PublishBuildResult> {
  const record = await readQualityRecord(store, buildId);
  const spec = await readBuildSpec(store, buildId);
  const previous = await currentLatest(store, spec.name);
  const gate = evaluateGate({
    quality: spec.quality,
    report: record.report,
    items: record.merge.items,
    rejected: record.merge.rejected,
    ...(previous && previous.version !== spec.version ? { previous } : {}),
  });
  if (!gate.passed && !options.force) throw new QualityGateError('QUALITY_GATE_FAILED', gateFailureMessage(buildId, gate));
  const manifest = buildManifest(spec, { ...record, gate }, !gate.passed);
  const { manifestKey, deletedVersions } = await publishManifest(store, manifest, spec.keepVersions);
  return { buildId, version: spec.version, manifestKey, forced: !gate.passed, gate, deletedVersions };
}
