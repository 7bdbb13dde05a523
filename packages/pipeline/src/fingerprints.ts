import { createHash } from 'node:crypto';
import type { FieldMapping } from '@reindex/core';
import { BuildIntegrityError } from './build-spec.js';

/**
 * Per-item fingerprints: a 64-bit hash of exactly what decides an item's vector (the catalogue
 * columns the feature spec reads, the model bundle, the normalisation of given vectors), so
 * that two builds can tell which items are new, changed or gone by comparing fingerprints of
 * the same id, whatever the row order of either night's export.
 *
 * Published with each version as `fingerprints.bin` (see FINGERPRINTS_FILE): one 16-byte record
 * per indexed item, sorted by faiss id, int64 faiss id then uint64 fingerprint, little-endian.
 */
export const FINGERPRINTS_FILE = 'fingerprints.bin';
export const FINGERPRINT_RECORD_BYTES = 16;

/** What a build's fingerprints are taken over: the mapped columns in a fixed order, and a salt. */
export interface FingerprintSpec {
  /** `[logical field, column]`, sorted by field: the id column is not part of an item's content. */
  columns: Array<[string, string]>;
  /** Everything beside the row that decides its vector: the bundle's content hash, the normalisation. */
  salt: string;
}

/**
 * The fingerprint spec of a build: with a column of given vectors, that column (and whether it is
 * normalised); otherwise every mapped feature column (title, category, brand, shop, price) and the
 * model bundle's content hash, which covers the bundle's feature spec and weights.
 */
export function fingerprintSpec(fields: FieldMapping, bundleHash: string | null, normalizeEmbeddings: boolean): FingerprintSpec {
  const columns: Array<[string, string]> =
    fields.embedding !== undefined
      ? [['embedding', fields.embedding]]
      : Object.entries(fields)
          .filter(([name, column]) => name !== 'id' && name !== 'embedding' && typeof column === 'string')
          .map(([name, column]) => [name, column as string] as [string, string])
          .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return { columns, salt: `reindex-fingerprint-v1|bundle=${bundleHash ?? 'none'}|normalize=${normalizeEmbeddings}` };
}

/** A value in a canonical text: bigints marked (never equal to the number), typed arrays as arrays. */
function canonical(value: unknown): string {
  return JSON.stringify(value ?? null, (_key, v: unknown) => {
    if (typeof v === 'bigint') return `${v}n`;
    if (ArrayBuffer.isView(v) && !(v instanceof DataView)) return Array.from(v as unknown as ArrayLike<number>);
    return v;
  });
}

/** The fingerprint of one catalogue row under a build's spec (sha256, first 8 bytes). */
export function itemFingerprint(row: Readonly<Record<string, unknown>>, spec: FingerprintSpec): bigint {
  const hash = createHash('sha256').update(spec.salt);
  for (const [name, column] of spec.columns) hash.update(`\0${name}=`).update(canonical(row[column]));
  return hash.digest().readBigUInt64LE(0);
}

/** Encodes sorted `(id, fingerprint)` pairs as the published file's records. */
export function encodeFingerprints(ids: BigInt64Array, fingerprints: BigUint64Array): Buffer {
  const body = Buffer.alloc(ids.length * FINGERPRINT_RECORD_BYTES);
  for (let i = 0; i < ids.length; i++) {
    if (i > 0 && ids[i]! <= ids[i - 1]!) throw new RangeError(`fingerprints must be sorted by id: ${ids[i]} after ${ids[i - 1]}`);
    body.writeBigInt64LE(ids[i]!, i * FINGERPRINT_RECORD_BYTES);
    body.writeBigUInt64LE(fingerprints[i]!, i * FINGERPRINT_RECORD_BYTES + 8);
  }
  return body;
}

/** Reads a published fingerprints file (`source` names it in errors): ids ascending, one fingerprint each. */
export function decodeFingerprints(body: Buffer, source: string): { ids: BigInt64Array; fingerprints: BigUint64Array } {
  if (body.length % FINGERPRINT_RECORD_BYTES !== 0)
    throw new BuildIntegrityError(`${source} has ${body.length} bytes, not a whole number of ${FINGERPRINT_RECORD_BYTES}-byte records`);
  const n = body.length / FINGERPRINT_RECORD_BYTES;
  const ids = new BigInt64Array(n);
  const fingerprints = new BigUint64Array(n);
  for (let i = 0; i < n; i++) {
    ids[i] = body.readBigInt64LE(i * FINGERPRINT_RECORD_BYTES);
    fingerprints[i] = body.readBigUInt64LE(i * FINGERPRINT_RECORD_BYTES + 8);
    if (i > 0 && ids[i]! <= ids[i - 1]!) throw new BuildIntegrityError(`${source} is not sorted by id at record ${i} (id ${ids[i]})`);
  }
  return { ids, fingerprints };
}
