import { z } from 'zod';
import { ManifestError } from '../errors.js';

const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, { error: 'must be a lowercase hex sha256' });
const relativePath = z
  .string()
  .min(1)
  .refine((p) => !p.startsWith('/') && !p.split('/').some((s) => s === '' || s === '..' || s === '.'), {
    error: 'must be a relative path inside the version directory',
  });
const count = z.number().int().nonnegative();

const manifestSchema = z
  .looseObject({
    name: z.string().min(1),
    version: z.string().min(1),
    buildId: z.string().min(1),
    createdAt: z.iso.datetime({ offset: true, error: 'must be an ISO-8601 timestamp' }),
    dim: z.number().int().positive(),
    metric: z.enum(['ip', 'l2']),
    factory: z.string().min(1),
    nprobe: z.number().int().positive(),
    ntotal: count,
    files: z.array(z.looseObject({ path: relativePath, bytes: count, sha256: sha256Hex })).min(1, { error: 'must list at least the index file' }),
    modelBundleHash: z.string().min(1).nullable(),
    catalogue: z.looseObject({ source: z.string().min(1), items: count, rejected: count }),
    stageTimings: z.record(z.string(), z.number().nonnegative()),
    quality: z.record(z.string(), z.unknown()),
    idMap: relativePath.optional(),
    build: z
      .discriminatedUnion('mode', [
        z.looseObject({ mode: z.literal('full'), reason: z.string().min(1).optional() }),
        z.looseObject({ mode: z.literal('incremental'), baseVersion: z.string().min(1), carried: count, changed: count, added: count, deleted: count }),
      ])
      .optional(),
  })
  .superRefine((m, ctx) => {
    const paths = m.files.map((f) => f.path);
    if (new Set(paths).size !== paths.length) ctx.addIssue({ code: 'custom', path: ['files'], message: 'lists a path twice' });
    if (m.idMap !== undefined && !paths.includes(m.idMap)) {
      ctx.addIssue({ code: 'custom', path: ['idMap'], message: `names ${m.idMap}, which is not in files` });
    }
  });

/**
 * `indexes/<name>/<version>/manifest.json` (contract with the serving fleet). Extra fields are
 * allowed so newer writers do not break older readers; listed fields are required as typed.
 */
export interface Manifest {
  name: string;
  version: string;
  buildId: string;
  /** ISO-8601. */
  createdAt: string;
  dim: number;
  metric: 'ip' | 'l2';
  /** faiss factory string the index was built with. */
  factory: string;
  /**
   * Present when the train job built another index than the plan chose, because the catalogue's
   * real training sample was smaller than the plan's estimate: the planned factory and why.
   */
  indexAdjusted?: { plannedFactory: string; reason: string };
  /** nprobe the serving side should use (picked by the quality stage). */
  nprobe: number;
  /** Vectors in the index. */
  ntotal: number;
  /** Every file of the version, paths relative to the version directory. */
  files: ManifestFile[];
  /**
   * Content hash of the model bundle that produced the vectors; null when the catalogue carried
   * its own vectors and the build had no bundle (queries must then be vectors of the same space).
   */
  modelBundleHash: string | null;
  catalogue: { source: string; items: number; rejected: number };
  /** Milliseconds per stage (`plan`, `train`, `shards`, `merge`, `quality`, `publish`). */
  stageTimings: Record<string, number>;
  /**
   * Quality report: `nprobe` (chosen), `recallAt10`, `recallAt100`, `msPerQuery`, `queries`,
   * `querySource`, `sweep` rows `{ nprobe, recallAt10, recallAt100, overlapAt10, overlapAt100,
   * msPerQuery }`, `target`, `definitions`, `gate` `{ passed, failed, checks }`, and `forced: true`
   * when published past a failed gate (see the root README). Validated as an object only, so
   * older manifests (`{}`) still read.
   */
  quality: Record<string, unknown>;
  /** Path (one of files) of the string-id map, present when item ids are strings. */
  idMap?: string;
  /**
   * How the version was built: `full` (with the `reason` a build asked to be incremental was
   * not), or `incremental` from `baseVersion`: items carried over with their codes, changed
   * (re-embedded), added, and deleted since the base. Absent in versions from before.
   */
  build?: ManifestBuild;
}

export type ManifestBuild =
  | { mode: 'full'; reason?: string }
  | { mode: 'incremental'; baseVersion: string; carried: number; changed: number; added: number; deleted: number };

export interface ManifestFile {
  path: string;
  bytes: number;
  sha256: string;
}

/** `indexes/<name>/LATEST` (contract): the current version, written last and atomically. */
export interface LatestPointer {
  version: string;
  /** Object key of that version's manifest.json, relative to the store root. */
  manifest: string;
  /** ISO-8601. */
  updatedAt: string;
}

const latestSchema = z.looseObject({
  version: z.string().min(1),
  manifest: relativePath,
  updatedAt: z.iso.datetime({ offset: true, error: 'must be an ISO-8601 timestamp' }),
});

/** Validates a parsed manifest; the error lists every problem by field path. */
export function validateManifest(value: unknown, source = 'manifest'): Manifest {
  return check(manifestSchema, value, source) as Manifest;
}

/** Validates a parsed LATEST pointer. */
export function validateLatestPointer(value: unknown, source = 'LATEST'): LatestPointer {
  return check(latestSchema, value, source) as LatestPointer;
}

/** Parses and validates manifest.json bytes. */
export function parseManifest(text: string | Buffer, source = 'manifest.json'): Manifest {
  return validateManifest(parseJson(text, source), source);
}

/** Parses and validates LATEST bytes. */
export function parseLatestPointer(text: string | Buffer, source = 'LATEST'): LatestPointer {
  return validateLatestPointer(parseJson(text, source), source);
}

function parseJson(text: string | Buffer, source: string): unknown {
  try {
    return JSON.parse(text.toString());
  } catch (cause) {
    throw new ManifestError(`${source} is not valid JSON: ${(cause as Error).message}`, { cause });
  }
}

function check(schema: z.ZodType, value: unknown, source: string): unknown {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const problems = result.error.issues.map((i) => `${i.path.map(String).join('.') || '(root)'}: ${i.message}`);
  throw new ManifestError(`invalid ${source}:\n  ${problems.join('\n  ')}`);
}
