/**
 * The feature hash: FNV-1a (32-bit) over the UTF-8 bytes of a token, preceded by the four bytes
 * of a per-feature seed (little endian), finished with murmur3's fmix32 avalanche.
 *
 * Why this shape: FNV-1a is a few lines in any language, so a Python training pipeline can
 * reproduce token ids exactly (`token.encode('utf-8')`); hashing UTF-8 rather than UTF-16 code
 * units keeps ids independent of a runtime's string encoding. FNV's low bits are weak, and ids
 * are taken modulo a (often power-of-two) bucket count, so fmix32 spreads them first.
 *
 * The streaming form (`hashBegin`/`hashCodePoint`/`hashEnd`) hashes tokens straight out of a
 * code point buffer without building substrings.
 */

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

function fnvByte(h: number, byte: number): number {
  return Math.imul(h ^ byte, FNV_PRIME);
}

/** Starts a hash for one token under `seed` (an unsigned 32-bit integer). */
export function hashBegin(seed: number): number {
  let h = FNV_OFFSET;
  h = fnvByte(h, seed & 0xff);
  h = fnvByte(h, (seed >>> 8) & 0xff);
  h = fnvByte(h, (seed >>> 16) & 0xff);
  h = fnvByte(h, (seed >>> 24) & 0xff);
  return h;
}

/** Feeds one Unicode code point, as its UTF-8 bytes. */
export function hashCodePoint(h: number, cp: number): number {
  if (cp < 0x80) return fnvByte(h, cp);
  if (cp < 0x800) {
    h = fnvByte(h, 0xc0 | (cp >> 6));
    return fnvByte(h, 0x80 | (cp & 0x3f));
  }
  if (cp < 0x10000) {
    h = fnvByte(h, 0xe0 | (cp >> 12));
    h = fnvByte(h, 0x80 | ((cp >> 6) & 0x3f));
    return fnvByte(h, 0x80 | (cp & 0x3f));
  }
  h = fnvByte(h, 0xf0 | (cp >> 18));
  h = fnvByte(h, 0x80 | ((cp >> 12) & 0x3f));
  h = fnvByte(h, 0x80 | ((cp >> 6) & 0x3f));
  return fnvByte(h, 0x80 | (cp & 0x3f));
}

/** Finishes a hash: murmur3 fmix32, as an unsigned 32-bit integer. */
export function hashEnd(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Hash of a whole string (its code points as UTF-8). Convenience for tests, docs and tools. */
export function hashString(text: string, seed: number): number {
  let h = hashBegin(seed);
  for (const ch of text) h = hashCodePoint(h, ch.codePointAt(0) ?? 0);
  return hashEnd(h);
}

/**
 * Maps a hash to an id in `[1, buckets)`. Id 0 is reserved for padding and missing values, so
 * a model's embedding row 0 can stay zero and padded slots add nothing.
 */
export function bucketOf(hash: number, buckets: number): number {
  // hash % m without `%`: hash is an unsigned 32-bit value held as a double, where V8's `%`
  // is a library call. The quotient is exact enough for floor (hash < 2^53), so this is exact.
  const m = buckets - 1;
  return 1 + hash - Math.floor(hash / m) * m;
}
