/**
 * Text normalization and tokenization, shared by text features, categorical canonicalization and
 * the query tower. Rules (the determinism contract, also in README.md):
 *
 * 1. Unicode NFKC, then lower case (`String.prototype.toLowerCase`, locale independent).
 * 2. Each code point is classified: CJK (Han, Hiragana, Katakana, Bopomofo) and pictographic
 *    emoji are single-character tokens; letters, digits and combining marks form words; default
 *    ignorable code points (ZWJ, variation selectors, soft hyphen) and emoji skin-tone modifiers
 *    are dropped without splitting a word; everything else (spaces, punctuation, symbols)
 *    separates tokens.
 * 3. Emitted in this order until `maxLength` slots are full: every word/single-character token in
 *    text order; then bigrams of adjacent CJK characters (when enabled); then, per n-gram size,
 *    the character n-grams of each word wrapped in `<` and `>` (only when the wrapped word is
 *    longer than n, so a short word is not repeated as its own n-gram).
 *
 * Classification uses the Unicode data of Node's ICU; NFKC and case mapping of code points that
 * are assigned in every supported Node release are stable, which is what determinism needs.
 */
import { hashBegin, hashCodePoint, hashEnd, bucketOf } from './hash.js';
import { WordIdCache, hashWordNgrams } from './word-id-cache.js';

const SEP = 1;
const WORD = 2;
const CJK = 3;
const IGNORE = 4;
const EMOJI = 5;
const TABLE_SIZE = 0x30000;
const classTable = new Uint8Array(TABLE_SIZE);
const CJK_RE = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Bopomofo}]/u;
const EMOJI_RE = /\p{Extended_Pictographic}/u;
const IGNORE_RE = /[\p{Default_Ignorable_Code_Point}\p{Emoji_Modifier}]/u;
const WORD_RE = /[\p{L}\p{N}\p{M}]/u;
for (let cp = 0; cp < 0x80; cp++) {
  const isWord = (cp >= 0x30 && cp <= 0x39) || (cp >= 0x41 && cp <= 0x5a) || (cp >= 0x61 && cp <= 0x7a);
  classTable[cp] = isWord ? WORD : SEP;
}

function classify(cp: number): number {
  if (cp < TABLE_SIZE) {
    const known = classTable[cp] as number;
    if (known !== 0) return known;
  }
  // Lazily filled: the regexes allocate, but each code point is classified once per process.
  const ch = String.fromCodePoint(cp);
  const cls = CJK_RE.test(ch) ? CJK : EMOJI_RE.test(ch) ? EMOJI : IGNORE_RE.test(ch) ? IGNORE : WORD_RE.test(ch) ? WORD : SEP;
  if (cp < TABLE_SIZE) classTable[cp] = cls;
  return cls;
}

function isAscii(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 0x7f) return false;
  return true;
}

/** NFKC + lower case. ASCII skips NFKC, which is the identity there and is the costly step. */
export function normalizeText(text: string): string {
  return isAscii(text) ? text.toLowerCase() : text.normalize('NFKC').toLowerCase();
}

/** Tokenization parameters `hashTokens` needs (a text feature spec or a query input spec). */
export interface TokenSpec {
  buckets: number;
  seed: number;
  maxLength: number;
  charNgramSizes: readonly number[];
  cjkBigrams: boolean;
}

/**
 * Id of the token cps[start, end), optionally wrapped in `<` / `>`. `seeded` is
 * `hashBegin(spec.seed)`, computed once per text: the seed bytes would otherwise be half the
 * hashing work of a trigram.
 */
function hashRange(cps: Int32Array, start: number, end: number, padLeft: boolean, padRight: boolean, seeded: number, buckets: number): number {
  let h = seeded;
  if (padLeft) h = hashCodePoint(h, LT);
  for (let i = start; i < end; i++) h = hashCodePoint(h, cps[i] as number);
  if (padRight) h = hashCodePoint(h, GT);
  return bucketOf(hashEnd(h), buckets);
}

const LT = 0x3c;
const GT = 0x3e;
const SPACE = 0x20;

/**
 * Holds scratch buffers so that tokenizing an item allocates nothing beyond the normalized string.
 * Not shared between threads; one per featurizer.
 */
export class TextTokenizer {
  private cps = new Int32Array(258);
  private spanStart = new Int32Array(258);
  private spanEnd = new Int32Array(258);
  private spanKind = new Uint8Array(258);
  private spanCount = 0;
  /** Character n-gram ids staged by `hashTokens`, `maxLength` per n-gram size. */
  private staged = new Int32Array(64);
  private stagedCount = new Int32Array(8);
  private lastSpec: TokenSpec | null = null;
  private lastCache: WordIdCache | null = null;
  /** One memo per distinct (seed, buckets, n-gram sizes); a featurizer has a handful of specs. */
  private readonly caches = new Map<string, WordIdCache>();

  /** `wordCacheSlots`: slots of each word memo (a power of two; tests shrink it to force conflicts). */
  constructor(private readonly wordCacheSlots = WordIdCache.DEFAULT_SLOTS) {}

  /**
   * Splits `text` into token spans over `this.cps`; returns nothing, fills the span buffers.
   * ASCII text (the common case) is scanned as it is: NFKC is the identity on ASCII and lower
   * casing it is A-Z → a-z, so building the normalized string is skipped.
   */
  private scan(text: string): void {
    if (!this.scanSpans(text, true)) this.scanSpans(text.normalize('NFKC').toLowerCase(), false);
  }

  /**
   * Sizes the buffers for a text of `length` UTF-16 code units up front (it has at most that
   * many code points and spans), so the scanning loop needs no growth checks.
   */
  private reserve(length: number): void {
    if (this.cps.length >= length + 2) return;
    const size = length * 2 + 2;
    this.cps = new Int32Array(size);
    this.spanStart = new Int32Array(size);
    this.spanEnd = new Int32Array(size);
    this.spanKind = new Uint8Array(size);
  }

  /**
   * The scan itself. `raw`: `text` is not normalized yet; lower-cases ASCII on the fly and
   * returns false (spans undefined) at the first non-ASCII character, for the caller to start
   * over on the normalized text.
   */
  private scanSpans(text: string, raw: boolean): boolean {
    const length = text.length;
    this.reserve(length);
    const { cps, spanStart, spanEnd, spanKind } = this;
    let spans = 0;
    let n = 0;
    let wordStart = -1;
    for (let i = 0; i < length; i++) {
      let cp = text.charCodeAt(i);
      if (raw) {
        if (cp > 0x7f) return false;
        if (cp >= 0x41 && cp <= 0x5a) cp += 0x20;
      } else if (cp >= 0xd800 && cp <= 0xdbff && i + 1 < length) {
        const lo = text.charCodeAt(i + 1);
        if (lo >= 0xdc00 && lo <= 0xdfff) {
          cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
          i++;
        }
      }
      const cls = classify(cp);
      if (cls === WORD) {
        if (wordStart < 0) wordStart = n;
        cps[n++] = cp;
      } else if (cls === IGNORE) {
      } else {
        if (wordStart >= 0) {
          spanStart[spans] = wordStart;
          spanEnd[spans] = n;
          spanKind[spans++] = WORD;
          wordStart = -1;
        }
        if (cls === CJK || cls === EMOJI) {
          spanStart[spans] = n;
          cps[n++] = cp;
          spanEnd[spans] = n;
          spanKind[spans++] = cls;
        } else {
          // Leave a gap so that characters on either side of a separator are not adjacent
          // (CJK bigrams only join characters that touch in the text).
          n++;
        }
      }
    }
    if (wordStart >= 0) {
      spanStart[spans] = wordStart;
      spanEnd[spans] = n;
      spanKind[spans++] = WORD;
    }
    this.spanCount = spans;
    return true;
  }

  /**
   * Tokenizes `text` and writes up to `maxLength` token ids into `ids` from `offset`.
   * Returns the number written; the caller pads the rest. Same tokens, in the same order, as
   * `tokens()` (a test holds the two together); words' n-gram ids come from a `WordIdCache`.
   */
  hashTokens(text: string, spec: TokenSpec, ids: Int32Array, offset: number): number {
    this.scan(text);
    const cache = this.cacheFor(spec);
    const seeded = hashBegin(spec.seed);
    const buckets = spec.buckets;
    const sizes = spec.charNgramSizes;
    const sizeCount = sizes.length;
    const max = spec.maxLength;
    const { cps, spanStart, spanEnd, spanKind, spanCount } = this;
    // N-grams come after all words, so step 1 stages each word's n-grams per size (at most
    // `max` per size are ever needed) while its cache slot is at hand; step 3 copies them.
    if (this.staged.length < max * sizeCount) this.staged = new Int32Array(max * sizeCount);
    if (this.stagedCount.length < sizeCount) this.stagedCount = new Int32Array(sizeCount);
    const staged = this.staged;
    const stagedCount = this.stagedCount;
    stagedCount.fill(0);
    let count = 0;
    // 1. Word and single-character tokens, in text order.
    for (let s = 0; s < spanCount && count < max; s++) {
      const a = spanStart[s] as number;
      const b = spanEnd[s] as number;
      let h = seeded;
      for (let i = a; i < b; i++) h = hashCodePoint(h, cps[i] as number);
      h = hashEnd(h);
      if (spanKind[s] !== WORD || sizeCount === 0) {
        ids[offset + count++] = bucketOf(h, buckets);
        continue;
      }
      const record = cache.slotOf(cps, a, b, h);
      ids[offset + count++] = record >= 0 ? cache.wordId(record) : bucketOf(h, buckets);
      for (let k = 0; k < sizeCount; k++) {
        const have = stagedCount[k] as number;
        if (have === max) continue;
        const at = k * max + have;
        stagedCount[k] =
          have +
          (record >= 0
            ? cache.copyNgrams(record, k, staged, at, max - have)
            : hashWordNgrams(cps, a, b - a, sizes[k] as number, seeded, buckets, staged, at, max - have));
      }
    }
    // 2. Bigrams of CJK characters that touch in the text.
    if (spec.cjkBigrams) {
      for (let s = 0; s + 1 < spanCount && count < max; s++) {
        const a = spanStart[s] as number;
        if (spanKind[s] === CJK && spanKind[s + 1] === CJK && spanStart[s + 1] === a + 1) {
          ids[offset + count++] = hashRange(cps, a, a + 2, false, false, seeded, buckets);
        }
      }
    }
    // 3. Character n-grams, size by size, each in word order.
    for (let k = 0; k < sizeCount && count < max; k++) {
      const take = Math.min(stagedCount[k] as number, max - count);
      for (let j = 0, from = k * max; j < take; j++) ids[offset + count++] = staged[from + j] as number;
    }
    return count;
  }

  private cacheFor(spec: TokenSpec): WordIdCache {
    if (spec === this.lastSpec) return this.lastCache!;
    const key = `${spec.seed}:${spec.buckets}:${spec.charNgramSizes.join(',')}`;
    let cache = this.caches.get(key);
    if (cache === undefined) {
      cache = new WordIdCache(spec, hashBegin(spec.seed), this.wordCacheSlots);
      this.caches.set(key, cache);
    }
    this.lastSpec = spec;
    this.lastCache = cache;
    return cache;
  }

  /** Hits and misses of the word memos (for tests and profiling). */
  cacheStats(): { hits: number; misses: number } {
    let hits = 0;
    let misses = 0;
    for (const c of this.caches.values()) {
      hits += c.hits;
      misses += c.misses;
    }
    return { hits, misses };
  }

  /** The tokens `hashTokens` would hash, as strings (for tests, docs and debugging). */
  tokens(text: string, spec: { maxLength: number; charNgramSizes: readonly number[]; cjkBigrams: boolean }): string[] {
    const out: string[] = [];
    this.forEachToken(text, spec, (cps, start, end, padLeft, padRight) => {
      out.push((padLeft ? '<' : '') + String.fromCodePoint(...cps.subarray(start, end)) + (padRight ? '>' : ''));
    });
    return out;
  }

  /**
   * Visits tokens in contract order, at most `maxLength`. An n-gram is given as a code point
   * range of its word plus flags for the `<`/`>` markers it includes, so nothing is copied.
   */
  private forEachToken(
    text: string,
    spec: { maxLength: number; charNgramSizes: readonly number[]; cjkBigrams: boolean },
    visit: (cps: Int32Array, start: number, end: number, padLeft: boolean, padRight: boolean) => void,
  ): void {
    this.scan(text);
    const { cps, spanStart, spanEnd, spanKind, spanCount } = this;
    const max = spec.maxLength;
    let emitted = 0;
    for (let s = 0; s < spanCount && emitted < max; s++, emitted++) {
      visit(cps, spanStart[s] as number, spanEnd[s] as number, false, false);
    }
    if (spec.cjkBigrams) {
      for (let s = 0; s + 1 < spanCount && emitted < max; s++) {
        const a = spanStart[s] as number;
        // Adjacent in the text: the next single-character span starts where this one ends.
        if (spanKind[s] === CJK && spanKind[s + 1] === CJK && spanStart[s + 1] === a + 1) {
          visit(cps, a, a + 2, false, false);
          emitted++;
        }
      }
    }
    for (const n of spec.charNgramSizes) {
      for (let s = 0; s < spanCount && emitted < max; s++) {
        if (spanKind[s] !== WORD) continue;
        const ws = spanStart[s] as number;
        const wl = (spanEnd[s] as number) - ws;
        const padded = wl + 2;
        if (padded <= n) continue;
        // "<word>" has indices 0..wl+1; index j in 1..wl is word character j-1.
        for (let p = 0; p + n <= padded && emitted < max; p++) {
          const lo = Math.max(p, 1);
          const hi = Math.min(p + n - 1, wl);
          visit(cps, ws + lo - 1, ws + hi, p === 0, p + n === padded);
          emitted++;
        }
      }
    }
  }

  /**
   * Canonical hash of a categorical value: its tokens joined by single spaces, so "Levi's  " and
   * "levi s" are the same brand. For paths, `prefixIds` receives one id per level prefix, where
   * levels are joined by `>`; returns the number of ids written (levels with no tokens skipped).
   */
  hashCategorical(value: string, separator: string | null, seed: number, buckets: number, ids: Int32Array, offset: number, maxDepth: number): number {
    let h = hashBegin(seed);
    let written = 0;
    let level = 0;
    let from = 0;
    while (written < maxDepth) {
      const cut = separator === null ? -1 : value.indexOf(separator, from);
      const part = separator === null ? value : value.slice(from, cut < 0 ? undefined : cut);
      this.scan(part);
      if (this.spanCount > 0) {
        if (level > 0) h = hashCodePoint(h, GT);
        for (let s = 0; s < this.spanCount; s++) {
          if (s > 0) h = hashCodePoint(h, SPACE);
          for (let i = this.spanStart[s] as number; i < (this.spanEnd[s] as number); i++) h = hashCodePoint(h, this.cps[i] as number);
        }
        ids[offset + written++] = bucketOf(hashEnd(h), buckets);
        level++;
      }
      if (cut < 0) break;
      from = cut + separator!.length;
    }
    return written;
  }
}
