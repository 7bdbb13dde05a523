/**
 * Memo of the ids one word yields under one token spec: its word-token id and the ids of its
 * character n-grams, for every n-gram size of the spec.
 *
 * Why: catalogue titles are made of a small vocabulary (brands, colours, materials, product
 * nouns repeat across millions of items), and a trigram pass hashes every code point three
 * times. With the memo a known word costs one hash of its code points, an exact comparison and
 * a copy; on the sample catalogue 95% of words hit and title tokenization went from about 1.3
 * to 0.9 µs per title.
 *
 * Shape: direct-mapped, fixed size. A word goes to slot `hash & mask`, replacing whatever was
 * there, so memory is bounded (6.6 MiB per token spec at the defaults, trigrams: 32,768 slots
 * of a hash, a length, 24 code points and 25 ids) and nothing needs evicting. A slot keeps the word's code points
 * and a hit is an exact comparison, never a hash match alone: ids are identical with or without
 * the memo, whatever order items come in.
 */
import { bucketOf, hashCodePoint, hashEnd } from './hash.js';

const LT = 0x3c;
const GT = 0x3e;

/** The spec fields the memo depends on (part of `TokenSpec`). */
export interface WordIdSpec {
  buckets: number;
  charNgramSizes: readonly number[];
}

/** Number of character n-grams of size `n` a word of `wordLength` code points yields. */
export function ngramCount(wordLength: number, n: number): number {
  const padded = wordLength + 2;
  return padded <= n ? 0 : padded - n + 1;
}

/**
 * Writes the ids of the size-`n` n-grams of the word `cps[start, start + length)` wrapped in
 * `<` `>`, in order, from `out[at]`, at most `limit` of them; returns how many were written.
 * `seeded` is `hashBegin(seed)`.
 */
export function hashWordNgrams(
  cps: Int32Array,
  start: number,
  length: number,
  n: number,
  seeded: number,
  buckets: number,
  out: Int32Array,
  at: number,
  limit: number,
): number {
  const padded = length + 2;
  if (padded <= n) return 0;
  let written = 0;
  // "<word>" has indices 0..length+1; index j in 1..length is word character j-1.
  for (let p = 0; p + n <= padded && written < limit; p++) {
    let h = seeded;
    if (p === 0) h = hashCodePoint(h, LT);
    const lo = p === 0 ? 1 : p;
    const hi = Math.min(p + n - 1, length);
    for (let j = lo; j <= hi; j++) h = hashCodePoint(h, cps[start + j - 1] as number);
    if (p + n === padded) h = hashCodePoint(h, GT);
    out[at + written++] = bucketOf(hashEnd(h), buckets);
  }
  return written;
}

export class WordIdCache {
  /** Longest word (in code points) kept; longer ones are rare and hashed each time. */
  static readonly MAX_WORD_LENGTH = 24;
  /** Slots by default (a power of two): ~10k-word title vocabularies fit with few conflicts. */
  static readonly DEFAULT_SLOTS = 1 << 15;

  private readonly mask: number;
  private readonly sizes: Int32Array;
  private readonly buckets: number;
  /** Int32s per slot: hash, length, MAX_WORD_LENGTH code points, word id, n-gram ids. */
  private readonly recordSize: number;
  /**
   * All slots, one contiguous record each, so that a lookup touches a few adjacent cache lines
   * (separate arrays per field cost a cache miss each; measured slower beside onnxruntime).
   * Length 0 marks an empty slot.
   */
  private readonly records: Int32Array;
  hits = 0;
  misses = 0;

  constructor(
    spec: WordIdSpec,
    private readonly seeded: number,
    slots = WordIdCache.DEFAULT_SLOTS,
  ) {
    if (!Number.isInteger(Math.log2(slots))) throw new RangeError(`WordIdCache slots must be a power of two (got ${slots})`);
    this.mask = slots - 1;
    this.sizes = Int32Array.from(spec.charNgramSizes);
    this.buckets = spec.buckets;
    let ids = 1;
    for (const n of spec.charNgramSizes) ids += ngramCount(WordIdCache.MAX_WORD_LENGTH, n);
    this.recordSize = 2 + WordIdCache.MAX_WORD_LENGTH + ids;
    this.records = new Int32Array(slots * this.recordSize);
  }

  /**
   * The record holding the word `cps[start, end)`, whose finished hash (`hashEnd`, before
   * bucketing) is `hash`, filled on a miss; -1 when the word is too long to keep. Valid until
   * the next `slotOf`.
   */
  slotOf(cps: Int32Array, start: number, end: number, hash: number): number {
    const length = end - start;
    if (length > WordIdCache.MAX_WORD_LENGTH) return -1;
    const records = this.records;
    const record = (hash & this.mask) * this.recordSize;
    // biome-ignore lint/suspicious/noConfusingLabels: a labelled block leaves the probe on the first mismatch without a flag (hot path)
    hit: if (records[record] === (hash | 0) && records[record + 1] === length) {
      const shift = record + 2 - start;
      for (let k = start; k < end; k++) if (records[shift + k] !== cps[k]) break hit;
      this.hits++;
      return record;
    }
    this.misses++;
    records[record] = hash | 0;
    records[record + 1] = length;
    for (let k = 0; k < length; k++) records[record + 2 + k] = cps[start + k]!;
    let at = record + 2 + WordIdCache.MAX_WORD_LENGTH;
    records[at++] = bucketOf(hash, this.buckets);
    for (let s = 0; s < this.sizes.length; s++) {
      at += hashWordNgrams(cps, start, length, this.sizes[s]!, this.seeded, this.buckets, records, at, Infinity);
    }
    return record;
  }

  /** The word id kept in `record`. */
  wordId(record: number): number {
    return this.records[record + 2 + WordIdCache.MAX_WORD_LENGTH]!;
  }

  /**
   * Copies the n-gram ids of size index `sizeIndex` of the word in `record` to `out[at..]`, at
   * most `limit`; returns how many were copied.
   */
  copyNgrams(record: number, sizeIndex: number, out: Int32Array, at: number, limit: number): number {
    const records = this.records;
    const length = records[record + 1]!;
    const sizes = this.sizes;
    let from = record + 3 + WordIdCache.MAX_WORD_LENGTH;
    for (let s = 0; s < sizeIndex; s++) from += ngramCount(length, sizes[s]!);
    const count = Math.min(ngramCount(length, sizes[sizeIndex]!), limit);
    const shift = from - at;
    for (let k = at, end = at + count; k < end; k++) out[k] = records[k + shift]!;
    return count;
  }
}
