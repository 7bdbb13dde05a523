import { open, type FileHandle } from 'node:fs/promises';
import {
  IdMapError,
  IdMapper,
  formatLocation,
  hashStringId,
  idValueKind,
  type CatalogueRow,
  type DuplicateIdPolicy,
  type ItemIdKind,
  type RowLocation,
} from '@reindex/core';
import type { BuildSpec, RejectionTally } from '@reindex/pipeline';

/**
 * Item ids of a build, from catalogue rows to unique faiss ids.
 *
 * Three rules hold whatever the shard layout:
 * - one id kind per build (decided at plan time): a row of the other kind is rejected
 *   (`id-mixed-kinds`), so a string of digits can never pose as, or collide with, an integer id;
 * - an id that appears more than once (in one shard or in several) follows
 *   `catalogue.duplicateIds`: every copy rejected, the last copy in catalogue order kept, or the
 *   build failed; every rejected copy is reported with its location;
 * - two different string ids whose hashes collide: the smaller string (UTF-16 order) is indexed,
 *   the other rejected (`id-collision`), both named.
 * Shards resolve what they see; the merge resolves across shards from each shard's sorted id
 * file ({@link encodeShardIds}), in a streaming k-way merge.
 */

/** Where a build's id kind came from, and the kind. */
export interface IdPolicy {
  kind: ItemIdKind;
  duplicates: DuplicateIdPolicy;
  /** For messages: how the kind was decided (e.g. `the first row, items.jsonl@byte 0`). */
  kindSource: string;
}

/** The id policy a build spec records (older specs: integer ids, duplicates rejected). */
export function idPolicyOf(spec: BuildSpec): IdPolicy {
  return {
    kind: spec.catalogue.idKind ?? 'int64',
    duplicates: spec.catalogue.duplicateIds ?? 'reject',
    kindSource: spec.catalogue.idKindSource ?? 'the build spec',
  };
}

/** A row whose id was checked against the build's kind; string ids replaced by their faiss id. */
export type PreparedRow = CatalogueRow & { originalId?: string };

/**
 * Compact log of row locations (about 12 bytes a row), so a duplicate found a million rows
 * later can still name where its first copy was.
 */
export class LocationLog {
  private readonly files: string[] = [];
  private readonly fileIndex = new Map<string, number>();
  private codes = new Uint32Array(1024);
  private positions = new Float64Array(1024);
  private count = 0;

  append(location: RowLocation): number {
    let file = this.fileIndex.get(location.file);
    if (file === undefined) {
      file = this.files.length;
      this.files.push(location.file);
      this.fileIndex.set(location.file, file);
    }
    if (this.count === this.codes.length) {
      const codes = new Uint32Array(this.count * 2);
      codes.set(this.codes);
      this.codes = codes;
      const positions = new Float64Array(this.count * 2);
      positions.set(this.positions);
      this.positions = positions;
    }
    const [kind, position] = 'byteOffset' in location ? [0, location.byteOffset] : 'line' in location ? [1, location.line] : [2, location.row];
    this.codes[this.count] = (kind << 28) | file;
    this.positions[this.count] = position;
    return this.count++;
  }

  get(ordinal: number): RowLocation {
    const code = this.codes[ordinal]!;
    const file = this.files[code & 0x0fffffff]!;
    const position = this.positions[ordinal]!;
    const kind = code >>> 28;
    return kind === 0 ? { file, byteOffset: position } : kind === 1 ? { file, line: position } : { file, row: position };
  }
}

/**
 * Open-addressing table from faiss id to a row ordinal, 12 bytes a slot at most half full: a
 * shard of millions of items fits in tens of megabytes where a Map of bigints takes hundreds.
 * Keys are read as two 32-bit words so lookups do no BigInt arithmetic.
 */
export class IdTable {
  private keys = new Uint32Array(2 * 1024);
  /** ordinal + 1; 0 marks an empty slot. */
  private values = new Int32Array(1024);
  private mask = 1023;
  private filled = 0;
  private readonly word = new BigInt64Array(1);
  private readonly words = new Uint32Array(this.word.buffer);

  get size(): number {
    return this.filled;
  }

  /** Ordinal recorded for `id`, or -1. */
  get(id: bigint): number {
    this.word[0] = id;
    const slot = this.find(this.words[0]!, this.words[1]!);
    return this.values[slot]! - 1;
  }

  set(id: bigint, ordinal: number): void {
    this.word[0] = id;
    const lo = this.words[0]!;
    const hi = this.words[1]!;
    const slot = this.find(lo, hi);
    if (this.values[slot] === 0) {
      this.keys[2 * slot] = lo;
      this.keys[2 * slot + 1] = hi;
      this.filled++;
    }
    this.values[slot] = ordinal + 1;
    if (this.filled * 2 > this.mask) this.grow();
  }

  /** Every (id, ordinal), in no particular order. */
  *entries(): IterableIterator<[bigint, number]> {
    const view = new BigInt64Array(this.keys.buffer);
    for (let slot = 0; slot <= this.mask; slot++) {
      if (this.values[slot] !== 0) yield [view[slot]!, this.values[slot]! - 1];
    }
  }

  private find(lo: number, hi: number): number {
    // Faiss ids of string items are uniformly spread hashes; integer ids are often dense, so
    // mix both words (Murmur3's finalizer multiplier) before masking.
    let slot = (Math.imul(lo ^ Math.imul(hi, 0x9e3779b1), 0x85ebca6b) >>> 0) & this.mask;
    while (this.values[slot] !== 0 && (this.keys[2 * slot] !== lo || this.keys[2 * slot + 1] !== hi)) slot = (slot + 1) & this.mask;
    return slot;
  }

  private grow(): void {
    const keys = this.keys;
    const values = this.values;
    const capacity = (this.mask + 1) * 2;
    this.keys = new Uint32Array(2 * capacity);
    this.values = new Int32Array(capacity);
    this.mask = capacity - 1;
    for (let slot = 0; slot < values.length; slot++) {
      if (values[slot] === 0) continue;
      const to = this.find(keys[2 * slot]!, keys[2 * slot + 1]!);
      this.keys[2 * to] = keys[2 * slot]!;
      this.keys[2 * to + 1] = keys[2 * slot + 1]!;
      this.values[to] = values[slot]!;
    }
  }
}

/** Vectors of accepted rows (n × dim) with their faiss ids and the rows they came from. */
export interface AcceptedBatch {
  vectors: Float32Array;
  ids: BigInt64Array;
  /** For each accepted entry, the index of its row in the prepared rows. */
  rowIndex: ArrayLike<number>;
}

/**
 * One shard's ids: the kind check before embedding, duplicates and collisions after it (on
 * rows the embedder accepted, so a malformed later copy never displaces a good earlier one).
 */
export class ShardIds {
  /** String ids recorded for the id map (string builds only). */
  readonly mapper = new IdMapper();
  private readonly table = new IdTable();
  private readonly locations = new LocationLog();
  /** Ids whose every copy is rejected (policy `reject`): removed from the sub-index at the end. */
  private readonly rejectedAll = new Set<bigint>();
  /** Ids whose indexed copy is replaced by a later one: the later vector waits here. */
  private readonly replacements = new Map<bigint, Float32Array>();
  /** Ids carried over from an incremental build's base, not in the sub-index. */
  private readonly carried = new Set<bigint>();
  /** Each admitted row's fingerprint, by its ordinal in `locations`. */
  private fingerprints = new BigUint64Array(1024);

  constructor(
    private readonly policy: IdPolicy,
    private readonly idField: string,
    private readonly dim: number,
    /** The fingerprint of a row's content (see @reindex/pipeline's itemFingerprint). */
    private readonly fingerprintOf: (row: PreparedRow) => bigint,
  ) {}

  /** Rejects rows of the other id kind; replaces string ids by their faiss id. */
  prepare(rows: readonly CatalogueRow[], rejected: RejectionTally): PreparedRow[] {
    const out: PreparedRow[] = [];
    for (const row of rows) {
      const raw = row.value[this.idField];
      const kind = idValueKind(raw);
      if (kind === undefined) {
        out.push(row); // missing or not an id: the featurizer names it (missing-id / invalid-id)
        continue;
      }
      if (kind !== this.policy.kind) {
        rejected.add({
          location: formatLocation(row.location),
          at: row.location,
          itemId: describeId(raw),
          reason: 'id-mixed-kinds',
          message: `item id ${describeId(raw)} is ${kind === 'string' ? 'a string' : 'an integer'}, but this build's ids are ${this.policy.kind === 'string' ? 'strings' : 'integers'} (from ${this.policy.kindSource}); set catalogue.idKind to choose`,
        });
        continue;
      }
      if (kind === 'string') {
        const text = raw as string;
        if (text.length === 0) {
          rejected.add({
            location: formatLocation(row.location),
            at: row.location,
            itemId: '',
            reason: 'invalid-id',
            message: `field "${this.idField}" is an empty string`,
          });
          continue;
        }
        out.push({ location: row.location, value: { ...row.value, [this.idField]: hashStringId(text) }, originalId: text });
      } else {
        out.push(row);
      }
    }
    return out;
  }

  /**
   * Applies the duplicate and collision rules to the rows the embedder accepted; returns what
   * to add to the sub-index now. Throws IdMapError `ID_DUPLICATE` under policy `fail`.
   */
  admit(batch: AcceptedBatch, rows: readonly PreparedRow[], rejected: RejectionTally): { vectors: Float32Array; ids: BigInt64Array } {
    const keep: number[] = [];
    for (let j = 0; j < batch.ids.length; j++) {
      const id = batch.ids[j]!;
      const row = rows[batch.rowIndex[j]!]!;
      const text = row.originalId;
      const previous = this.table.get(id);
      const ordinal = this.record(row);
      if (previous < 0) {
        this.table.set(id, ordinal);
        if (text !== undefined) this.mapper.add(text);
        keep.push(j);
        continue;
      }
      const here = formatLocation(row.location);
      const there = formatLocation(this.locations.get(previous));
      const previousText = this.mapper.lookup(id);
      if (text !== undefined && previousText !== undefined && previousText !== text) {
        // Two strings, one hash: the smaller string is indexed wherever the two sit.
        const message = collisionMessage(previousText, there, text, here, id);
        if (text < previousText) {
          rejected.add({ location: there, itemId: previousText, reason: 'id-collision', message });
          this.mapper.replace(id, text);
          this.replace(id, batch.vectors, j);
          this.table.set(id, ordinal);
        } else {
          rejected.add({ location: here, at: row.location, itemId: text, reason: 'id-collision', message });
        }
        continue;
      }
      const itemId = text ?? String(id);
      const policy = this.policy.duplicates;
      if (policy === 'fail') {
        throw new IdMapError('ID_DUPLICATE', `item id ${JSON.stringify(itemId)} appears twice: ${there} and ${here} (catalogue.duplicateIds is "fail")`);
      }
      if (policy === 'reject') {
        if (!this.rejectedAll.has(id)) {
          this.rejectedAll.add(id);
          this.replacements.delete(id);
          rejected.add({
            location: there,
            itemId,
            reason: 'duplicate-id',
            message: `item id ${JSON.stringify(itemId)} also appears at ${here}; every copy is rejected (catalogue.duplicateIds "reject")`,
          });
        }
        rejected.add({
          location: here,
          at: row.location,
          itemId,
          reason: 'duplicate-id',
          message: `item id ${JSON.stringify(itemId)} also appears at ${there}; every copy is rejected (catalogue.duplicateIds "reject")`,
        });
        continue;
      }
      rejected.add({
        location: there,
        itemId,
        reason: 'duplicate-id',
        message: `item id ${JSON.stringify(itemId)} appears again at ${here}, which is kept (catalogue.duplicateIds "keep-last")`,
      });
      this.replace(id, batch.vectors, j);
      this.table.set(id, ordinal);
    }
    if (keep.length === batch.ids.length) return { vectors: batch.vectors, ids: batch.ids };
    const vectors = new Float32Array(keep.length * this.dim);
    const ids = new BigInt64Array(keep.length);
    keep.forEach((j, n) => {
      vectors.set(batch.vectors.subarray(j * this.dim, (j + 1) * this.dim), n * this.dim);
      ids[n] = batch.ids[j]!;
    });
    return { vectors, ids };
  }

  /** Ids to remove from the sub-index at the end of the shard (their indexed copy lost). */
  idsToRemove(): BigInt64Array {
    return BigInt64Array.from([...this.rejectedAll, ...this.replacements.keys()]);
  }

  /** The vectors that replace removed copies, to add after the removal. */
  replacementBatch(): { vectors: Float32Array; ids: BigInt64Array } {
    const ids = BigInt64Array.from(this.replacements.keys());
    const vectors = new Float32Array(ids.length * this.dim);
    ids.forEach((id, n) => {
      vectors.set(this.replacements.get(id)!, n * this.dim);
    });
    return { vectors, ids };
  }

  /** The shard's indexed ids, sorted, with their locations and fingerprints (see {@link encodeShardIds}). */
  indexed(): IndexedIds {
    const ids = new BigInt64Array(this.table.size - this.rejectedAll.size);
    let n = 0;
    for (const [id] of this.table.entries()) if (!this.rejectedAll.has(id)) ids[n++] = id;
    ids.sort();
    return {
      ids,
      location: (i: number) => this.locations.get(this.table.get(ids[i]!)),
      fingerprint: (i: number) => this.fingerprints[this.table.get(ids[i]!)]!,
      carried: (i: number) => this.carried.has(ids[i]!),
    };
  }

  /** For string builds: the id map of what the shard indexed. */
  idMap(): IdMapper {
    if (this.rejectedAll.size === 0) return this.mapper;
    const kept = new IdMapper();
    for (const [id, text] of this.mapper.entries()) if (!this.rejectedAll.has(id)) kept.add(text);
    return kept;
  }

  /**
   * An incremental build's row whose content is unchanged since the base version: indexed by
   * carrying the base's code over, not embedded. Only ids seen once in the shard are carried
   * (see processShard), so no duplicate rule applies.
   */
  carry(row: PreparedRow, id: bigint): void {
    this.table.set(id, this.record(row));
    if (row.originalId !== undefined) this.mapper.add(row.originalId);
    this.carried.add(id);
  }

  /** Rows carried over from the base version (see {@link carry}). */
  get carriedCount(): number {
    return this.carried.size;
  }

  /** Logs a row's location and fingerprint; returns its ordinal. */
  private record(row: PreparedRow): number {
    const ordinal = this.locations.append(row.location);
    if (ordinal === this.fingerprints.length) {
      const grown = new BigUint64Array(ordinal * 2);
      grown.set(this.fingerprints);
      this.fingerprints = grown;
    }
    this.fingerprints[ordinal] = this.fingerprintOf(row);
    return ordinal;
  }

  private replace(id: bigint, vectors: Float32Array, j: number): void {
    this.replacements.set(id, vectors.slice(j * this.dim, (j + 1) * this.dim));
  }
}

function describeId(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}

export function collisionMessage(a: string, aAt: string, b: string, bAt: string, faissId: bigint): string {
  const [kept, keptAt, lost, lostAt] = a < b ? [a, aAt, b, bAt] : [b, bAt, a, aAt];
  return `item ids ${JSON.stringify(kept)} (${keptAt}) and ${JSON.stringify(lost)} (${lostAt}) both hash to faiss id ${faissId}; ${JSON.stringify(kept)}, the smaller, is indexed and ${JSON.stringify(lost)} rejected: rename one to index both`;
}

// ---------------------------------------------------------------------------------------------
// Shard id files: the merge's view of every shard's ids.

/** A shard's indexed ids, ascending, with where each row was and its fingerprint. */
export interface IndexedIds {
  ids: BigInt64Array;
  location: (i: number) => RowLocation;
  fingerprint: (i: number) => bigint;
  /** True for an item carried over from the base version (not in the shard's sub-index). */
  carried: (i: number) => boolean;
}

/**
 * `builds/<id>/shards/<n>.ids`: one 32-byte record per indexed item, sorted by faiss id:
 * int64 faiss id, float64 position (byte offset, line or row), uint32 file number, uint32
 * position kind (0 byte offset, 1 line, 2 row; plus CARRIED_FLAG for an item carried over from an
 * incremental build's base, which is not in the sub-index) and uint64 fingerprint, little-endian. The file
 * names are in the shard's stats (`ids.files`). Files of 24-byte records (no fingerprint) come
 * from builds before fingerprints; their cursors report none.
 */
export const SHARD_ID_RECORD_BYTES = 32;
const SHARD_ID_RECORD_BYTES_V1 = 24;
const CARRIED_FLAG = 0x100;

export function encodeShardIds(indexed: IndexedIds): { body: Buffer; files: string[] } {
  const files: string[] = [];
  const fileIndex = new Map<string, number>();
  const body = Buffer.alloc(indexed.ids.length * SHARD_ID_RECORD_BYTES);
  for (let i = 0; i < indexed.ids.length; i++) {
    const location = indexed.location(i);
    let file = fileIndex.get(location.file);
    if (file === undefined) {
      file = files.length;
      files.push(location.file);
      fileIndex.set(location.file, file);
    }
    const [kind, position] = 'byteOffset' in location ? [0, location.byteOffset] : 'line' in location ? [1, location.line] : [2, location.row];
    const at = i * SHARD_ID_RECORD_BYTES;
    body.writeBigInt64LE(indexed.ids[i]!, at);
    body.writeDoubleLE(position, at + 8);
    body.writeUInt32LE(file, at + 16);
    body.writeUInt32LE(kind | (indexed.carried(i) ? CARRIED_FLAG : 0), at + 20);
    body.writeBigUInt64LE(indexed.fingerprint(i), at + 24);
  }
  return { body, files };
}

/** Reads a shard id file front to back in chunks (the merge holds one chunk per shard). */
export class ShardIdCursor {
  private chunk = Buffer.alloc(0);
  private at: number;
  private fileOffset = 0;
  /** Faiss id of the current record; undefined past the end. */
  id: bigint | undefined;

  private constructor(
    readonly shard: number,
    private readonly handle: FileHandle,
    private readonly files: readonly string[],
    private readonly chunkRecords: number,
    /** Bytes per record: SHARD_ID_RECORD_BYTES, or 24 in files written before fingerprints. */
    readonly recordBytes: number,
  ) {
    this.at = -recordBytes;
  }

  /** `recordBytes`: the file's bytes / its record count (from the shard's stats). */
  static async open(shard: number, path: string, files: readonly string[], recordBytes = SHARD_ID_RECORD_BYTES, chunkRecords = 16_384): Promise<ShardIdCursor> {
    if (recordBytes !== SHARD_ID_RECORD_BYTES && recordBytes !== SHARD_ID_RECORD_BYTES_V1)
      throw new IdMapError(
        'ID_FILE_INVALID',
        `shard ${shard}'s id file has ${recordBytes}-byte records; this reindex reads ${SHARD_ID_RECORD_BYTES} or ${SHARD_ID_RECORD_BYTES_V1}`,
      );
    const cursor = new ShardIdCursor(shard, await open(path, 'r'), files, chunkRecords, recordBytes);
    await cursor.next();
    return cursor;
  }

  /** Whether the current record is an item carried over from the base version (not in the sub-index). */
  carried(): boolean {
    return (this.chunk.readUInt32LE(this.at + 20) & CARRIED_FLAG) !== 0;
  }

  /** Fingerprint of the current record; undefined in files written before fingerprints. */
  fingerprint(): bigint | undefined {
    return this.recordBytes >= SHARD_ID_RECORD_BYTES ? this.chunk.readBigUInt64LE(this.at + 24) : undefined;
  }

  /** Location of the current record. */
  location(): RowLocation {
    const position = this.chunk.readDoubleLE(this.at + 8);
    const file = this.files[this.chunk.readUInt32LE(this.at + 16)] ?? '?';
    const kind = this.chunk.readUInt32LE(this.at + 20) & 0xff;
    return kind === 0 ? { file, byteOffset: position } : kind === 1 ? { file, line: position } : { file, row: position };
  }

  /** Moves to the next record, reading the file only when the chunk is used up. */
  async next(): Promise<void> {
    if (!this.step()) {
      const buffer = Buffer.alloc(this.chunkRecords * this.recordBytes);
      const { bytesRead } = await this.handle.read(buffer, 0, buffer.length, this.fileOffset);
      this.fileOffset += bytesRead;
      this.chunk = buffer.subarray(0, bytesRead - (bytesRead % this.recordBytes));
      this.at = -this.recordBytes;
      if (!this.step()) this.id = undefined;
    }
  }

  close(): Promise<void> {
    return this.handle.close();
  }

  /** Advances within the chunk; false when it is used up. */
  private step(): boolean {
    if (this.at + 2 * this.recordBytes > this.chunk.length) return false;
    this.at += this.recordBytes;
    const id = this.chunk.readBigInt64LE(this.at);
    if (this.id !== undefined && id <= this.id) throw new IdMapError('ID_FILE_INVALID', `shard ${this.shard}'s id file is not sorted at faiss id ${id}`);
    this.id = id;
    return true;
  }
}

/** One id found in more than one shard, with where each copy is. */
export interface CrossShardDuplicate {
  id: bigint;
  /** `carried`: the copy is carried over from an incremental build's base (it is in no sub-index). */
  copies: Array<{ shard: number; location: RowLocation; carried?: boolean }>;
}

/**
 * Streams the shards' sorted id files in one k-way merge (a binary heap of cursors) and calls
 * `visit` with the cursor of every record, in (id, shard) order, before moving it on. Memory:
 * one chunk per shard; time: items × log2(shards) bigint comparisons.
 */
export async function forEachIdInOrder(cursors: ShardIdCursor[], visit: (cursor: ShardIdCursor) => void | Promise<void>): Promise<void> {
  const heap = cursors.filter((c) => c.id !== undefined);
  const less = (a: ShardIdCursor, b: ShardIdCursor): boolean => a.id! < b.id! || (a.id === b.id && a.shard < b.shard);
  const siftDown = (i: number): void => {
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < heap.length && less(heap[l]!, heap[m]!)) m = l;
      if (r < heap.length && less(heap[r]!, heap[m]!)) m = r;
      if (m === i) return;
      [heap[i], heap[m]] = [heap[m]!, heap[i]!];
      i = m;
    }
  };
  for (let i = (heap.length >> 1) - 1; i >= 0; i--) siftDown(i);
  while (heap.length > 0) {
    const top = heap[0]!;
    await visit(top);
    await top.next();
    if (top.id === undefined) {
      heap[0] = heap[heap.length - 1]!;
      heap.pop();
    }
    if (heap.length > 0) siftDown(0);
  }
}

/** Calls `onDuplicate` for every id held by more than one shard, copies in shard order (see forEachIdInOrder). */
export async function findCrossShardDuplicates(cursors: ShardIdCursor[], onDuplicate: (duplicate: CrossShardDuplicate) => void): Promise<void> {
  let group: CrossShardDuplicate | undefined;
  const flush = () => {
    if (group && group.copies.length > 1) onDuplicate(group);
  };
  await forEachIdInOrder(cursors, (cursor) => {
    const copy = { shard: cursor.shard, location: cursor.location(), carried: cursor.carried() };
    if (group !== undefined && group.id === cursor.id) group.copies.push(copy);
    else {
      flush();
      group = { id: cursor.id!, copies: [copy] };
    }
  });
  flush();
}

/** What the merge does with one id held by several shards. */
export interface CrossShardResolution {
  /** The shard whose copy stays in the index, if any. */
  keepShard?: number;
  /** One per copy that goes (every copy but `keepShard`'s). */
  rejections: Array<{ shard: number; location: string; itemId: string; reason: 'duplicate-id' | 'id-collision'; message: string }>;
}

/**
 * The same rules as a shard applies, across shards: the smallest of colliding strings wins,
 * then the duplicate policy among the copies of the winning id (shards are in catalogue order,
 * so the highest shard holds the last copy). `textOf` gives a string build's id of a copy.
 */
export function resolveCrossShard(
  duplicate: CrossShardDuplicate,
  policy: DuplicateIdPolicy,
  textOf?: (shard: number) => string | undefined,
): CrossShardResolution {
  const copies = duplicate.copies.map((c) => ({ ...c, at: formatLocation(c.location), text: textOf?.(c.shard) }));
  const winningText = copies.reduce<string | undefined>((min, c) => (c.text !== undefined && (min === undefined || c.text < min) ? c.text : min), undefined);
  const rejections: CrossShardResolution['rejections'] = [];
  const winners = copies.filter((c) => c.text === winningText);
  for (const c of copies) {
    if (c.text === winningText) continue;
    const winner = winners[0]!;
    rejections.push({
      shard: c.shard,
      location: c.at,
      itemId: c.text!,
      reason: 'id-collision',
      message: collisionMessage(winner.text!, winner.at, c.text!, c.at, duplicate.id),
    });
  }
  const itemId = winningText ?? String(duplicate.id);
  if (winners.length === 1) return { keepShard: winners[0]!.shard, rejections };
  const where = winners.map((c) => c.at).join(', ');
  if (policy === 'fail') {
    throw new IdMapError('ID_DUPLICATE', `item id ${JSON.stringify(itemId)} appears ${winners.length} times: ${where} (catalogue.duplicateIds is "fail")`);
  }
  const keep = policy === 'keep-last' ? winners.at(-1)! : undefined;
  for (const c of winners) {
    if (c === keep) continue;
    const message = keep
      ? `item id ${JSON.stringify(itemId)} appears again at ${keep.at}, which is kept (catalogue.duplicateIds "keep-last")`
      : `item id ${JSON.stringify(itemId)} appears ${winners.length} times (${where}); every copy is rejected (catalogue.duplicateIds "reject")`;
    rejections.push({ shard: c.shard, location: c.at, itemId, reason: 'duplicate-id', message });
  }
  return { ...(keep ? { keepShard: keep.shard } : {}), rejections };
}
