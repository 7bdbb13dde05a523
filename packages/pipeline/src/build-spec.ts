import {
  ReindexError,
  type DuplicateIdPolicy,
  type FieldMapping,
  type IndexParams,
  type ManifestFile,
  type ItemIdKind,
  type ObjectStore,
  type QualityConfig,
  type ShardPlan,
  buildSpecKey,
  parsePlanRecord,
  planKey,
} from '@reindex/core';
import { parseBuildSpecRecord } from './records.js';

/**
 * Everything a worker needs to run any job of a build, written once by the coordinator to
 * `builds/<buildId>/build.json` (next to `plan.json`). Jobs carry only the build id.
 */
export interface BuildSpec {
  formatVersion: 1;
  buildId: string;
  /** Index name: the version is published under `indexes/<name>/<version>/`. */
  name: string;
  /** Version id the build publishes as (sortable, from the build's start time). */
  version: string;
  createdAt: string;
  storeUrl: string;
  /**
   * `normalizeEmbeddings` only matters with `fields.embedding` (absent in older builds: false).
   * `idKind` is the build's id kind as decided at plan time, `idKindSource` how (absent in older
   * builds: integers); `duplicateIds` the policy (absent: reject).
   */
  catalogue: { url: string; fields: FieldMapping; normalizeEmbeddings?: boolean; idKind?: ItemIdKind; idKindSource?: string; duplicateIds?: DuplicateIdPolicy };
  /**
   * The model bundle (`dir` as planned: a local directory or an object-store prefix) and the
   * vectors' dim. `dir` and `contentHash` are null for a catalogue that carries its own vectors
   * and was planned without a bundle: then `dim` came from the data.
   */
  model: { dir: string | null; contentHash: string | null; dim: number };
  index: IndexParams & {
    metric: 'ip' | 'l2';
    nprobe: number;
    servingMemoryBytes: number;
    builderMemoryBytes: number;
    trainSeed: number;
    /** Set by the train job when the real sample could not train the planned lists (see fitIndexToSample). */
    adjusted?: { plannedFactory: string; reason: string };
  };
  keepVersions: number;
  /** The quality report and publish gate. Absent in builds written before it existed (then: no gate). */
  quality?: QualitySpec;
  /** `reindex --force`: publish even when the quality gate fails (the manifest records it). */
  force?: boolean;
  /** An incremental build: the version it starts from (README "Incremental builds"). Absent: a full build. */
  incremental?: IncrementalBase;
  /** Why a build asked to be incremental (`incremental: "auto"`) is a full build. */
  fullBuildReason?: string;
}

/** The published version an incremental build reuses: its trained index, codes, fingerprints and quality files. */
export interface IncrementalBase {
  version: string;
  buildId: string;
  /** The base's items (its manifest's ntotal). */
  ntotal: number;
  /** The base version's files, as its manifest lists them (checked again where they are read). */
  files: ManifestFile[];
}

/** {@link QualityConfig} as a build carries it. */
export interface QualitySpec extends QualityConfig {
  /** Seed of the held-out query sample (never the training seed). */
  seed: number;
  /** nprobe fixed by configuration (`index.nprobe`): still swept, but the gate judges this one. */
  fixedNprobe?: number;
  /** sha256 of `queriesUrl`'s bytes when the build was planned. */
  queriesSha256?: string;
}

export async function writeBuildSpec(store: ObjectStore, spec: BuildSpec, plan: ShardPlan): Promise<void> {
  await store.put(planKey(spec.buildId), Buffer.from(JSON.stringify(plan)), { contentType: 'application/json' });
  await store.put(buildSpecKey(spec.buildId), Buffer.from(JSON.stringify(spec, null, 2)), { contentType: 'application/json' });
}

export async function readBuildSpec(store: ObjectStore, buildId: string): Promise<BuildSpec> {
  const key = buildSpecKey(buildId);
  return parseBuildSpecRecord(await store.get(key), `${store.url}/${key}`);
}

export async function readPlan(store: ObjectStore, buildId: string): Promise<ShardPlan> {
  const key = planKey(buildId);
  return parsePlanRecord(await store.get(key), `${store.url}/${key}`);
}

/**
 * A build's own intermediate is not what the stage that wrote it recorded (a checksum or a count
 * differs, a record is missing). Transient: another attempt reads it again, or redoes it.
 */
export class BuildIntegrityError extends ReindexError {
  constructor(message: string) {
    super('BUILD_INTEGRITY', message);
  }
}
