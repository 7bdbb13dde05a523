import { createHash } from 'node:crypto';
import { IdMapError } from '../errors.js';
import { formatLocation, type CatalogueRow } from '../catalogue/catalogue-types.js';

/**
 * An item id as it appears in the catalogue. Integers (number or bigint, e.g. a Parquet INT64
 * column) are used as faiss ids directly; strings are hashed to a positive int64.
 */
export type ItemId = string | number | bigint;

/** Which of the two id regimes a catalogue uses. A catalogue never mixes them (see IdMapper). */
export type ItemIdKind = 'int64' | 'string';

const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;
const POSITIVE_63_BIT_MASK = INT64_MAX;

/**
 * Faiss id of a string item id: the first 8 bytes of sha256(utf8(id)), big-endian, masked to
 * 63 bits. Masking keeps the id positive so it can never be faiss's "no result" marker (-1), and
 * sha256 is used (rather than a faster non-cryptographic hash) because it is in node:crypto,
 * stable across platforms and versions, and trivially reproducible by the serving fleet in any
 * language. Collisions are possible (birthday bound ~ n^2 / 2^64) and are detected by IdMapper.
 */
export function hashStringId(id: string): bigint {
  const digest = createHash('sha256').update(id, 'utf8').digest();
  return digest.readBigUInt64BE(0) & POSITIVE_63_BIT_MASK;
}

/** Kind of an id value as read from a catalogue row, or undefined if it cannot be an id at all. */
export function itemIdKind(id: unknown): ItemIdKind | undefined {
  if (typeof id === 'string') return 'string';
  if (typeof id === 'bigint') return 'int64';
  if (typeof id === 'number' && Number.isInteger(id)) return 'int64';
  return undefined;
}

/**
 * Faiss id of an integer item id. Rejects values outside int64, numbers beyond 2^53 (they were
 * already rounded by JSON.parse, so two items could silently share an id) and -1, which faiss
 * uses for "no result".
 */
export function int64ItemId(id: number | bigint): bigint {
  if (typeof id === 'number') {
    if (!Number.isSafeInteger(id)) {
      throw new IdMapError(
        'ID_UNSAFE_NUMBER',
        `item id ${id} is not a safe integer (|id| must be < 2^53 when read as a JSON number); store large ids as strings or Parquet INT64`,
      );
    }
    id = BigInt(id);
  }
  if (id < INT64_MIN || id > INT64_MAX) {
    throw new IdMapError('ID_OUT_OF_RANGE', `item id ${id} does not fit in a signed 64-bit integer`);
  }
  if (id === -1n) {
    throw new IdMapError('ID_RESERVED', 'item id -1 is reserved by faiss for "no result"');
  }
  return id;
}

/** What a kind check makes of one id value: a faiss id (string kind), as-is (integers), or a rejection. */
export function idValueKind(value: unknown): ItemIdKind | undefined {
  if (typeof value === 'string') return 'string';
  if (typeof value === 'bigint' || typeof value === 'number') return 'int64';
  return undefined;
}

/** The id kind of a build decided from a sample of rows: the first row with an id value. */
export function decideIdKind(rows: readonly CatalogueRow[], idField: string): { kind: ItemIdKind; source: string } | undefined {
  for (const row of rows) {
    const kind = idValueKind(row.value[idField]);
    if (kind) return { kind, source: `the first row's id (${formatLocation(row.location)})` };
  }
  return undefined;
}
