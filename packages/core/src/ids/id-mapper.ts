import { IdMapError } from '../errors.js';
import { hashStringId, int64ItemId, itemIdKind, type ItemIdKind } from './item-id.js';

/**
 * Maps item ids to faiss ids and, for string ids, remembers the mapping so the serving side can
 * translate search results back. One IdMapper per shard; shard mappers are merged at fan-in,
 * which is where cross-shard hash collisions surface.
 */
export class IdMapper {
  private kindSeen: ItemIdKind | undefined;
  /** faiss id -> string id; only populated for string ids (int64 ids need no map). */
  private readonly byFaissId = new Map<bigint, string>();
  private duplicateCount = 0;

  /** 'int64', 'string', or undefined before the first id. */
  get kind(): ItemIdKind | undefined {
    return this.kindSeen;
  }

  /** Number of string ids recorded. */
  get size(): number {
    return this.byFaissId.size;
  }

  /** How many times an already-recorded string id was added again (the catalogue repeats an item). */
  get duplicates(): number {
    return this.duplicateCount;
  }

  /**
   * Faiss id for `id`, recording string ids. Throws IdMapError when `id` is not an id, when the
   * catalogue mixes integer and string ids (a hashed string could then equal a real integer id),
   * or when two different strings hash to the same faiss id.
   */
  add(id: unknown): bigint {
    const kind = itemIdKind(id);
    if (kind === undefined) {
      throw new IdMapError('ID_INVALID', `item id ${describe(id)} is neither an integer nor a string`);
    }
    this.checkKind(kind, id);
    if (kind === 'int64') return int64ItemId(id as number | bigint);
    const text = id as string;
    if (text.length === 0) throw new IdMapError('ID_INVALID', 'item id is an empty string');
    const faissId = hashStringId(text);
    this.record(faissId, text);
    return faissId;
  }

  /**
   * Records `text` under its faiss id in place of the string recorded there (the winner of a
   * hash collision, see the worker's item ids).
   */
  replace(faissId: bigint, text: string): void {
    if (hashStringId(text) !== faissId) throw new IdMapError('ID_MAP_INVALID', `item id ${JSON.stringify(text)} does not hash to faiss id ${faissId}`);
    this.checkKind('string', text);
    this.byFaissId.set(faissId, text);
  }

  /** String id recorded for a faiss id, if any. */
  lookup(faissId: bigint): string | undefined {
    return this.byFaissId.get(faissId);
  }

  /** Folds another mapper (e.g. a shard's) into this one, detecting collisions across them. */
  merge(other: IdMapper): void {
    if (other.kindSeen === undefined) return;
    this.checkKind(other.kindSeen, other.kindSeen === 'string' ? '<string ids>' : '<integer ids>');
    for (const [faissId, text] of other.byFaissId) this.record(faissId, text);
    this.duplicateCount += other.duplicateCount;
  }

  /** Entries sorted by faiss id, the order used by the serialized id map. */
  *entries(): IterableIterator<[bigint, string]> {
    const ids = [...this.byFaissId.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    for (const faissId of ids) yield [faissId, this.byFaissId.get(faissId)!];
  }

  private record(faissId: bigint, text: string): void {
    const existing = this.byFaissId.get(faissId);
    if (existing === undefined) {
      this.byFaissId.set(faissId, text);
    } else if (existing === text) {
      this.duplicateCount++;
    } else {
      throw new IdMapError(
        'ID_COLLISION',
        `item ids ${JSON.stringify(existing)} and ${JSON.stringify(text)} both hash to faiss id ${faissId}; rename one of them or switch the catalogue to integer ids`,
      );
    }
  }

  private checkKind(kind: ItemIdKind, id: unknown): void {
    if (this.kindSeen === undefined) {
      this.kindSeen = kind;
    } else if (this.kindSeen !== kind) {
      throw new IdMapError(
        'ID_MIXED_KINDS',
        `item id ${describe(id)} is ${kind === 'string' ? 'a string' : 'an integer'} but earlier ids were ${this.kindSeen === 'string' ? 'strings' : 'integers'}; a catalogue must use one id type`,
      );
    }
  }
}

function describe(value: unknown): string {
  if (typeof value === 'bigint') return String(value);
  if (typeof value === 'string') return JSON.stringify(value);
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
