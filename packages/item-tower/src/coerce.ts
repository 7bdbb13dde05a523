/**
 * Coercion of raw catalogue values to what the featurizer needs. Catalogues come from many
 * exporters, so a value of a neighbouring type is accepted when its meaning is unambiguous
 * (a number where text is expected, a numeric string where a number is expected); anything
 * else rejects the item with a reason rather than guessing. Missing means `undefined`, `null`
 * or, for numbers, an empty/blank string.
 */

/** Stable reasons an item is rejected; counted per shard and reported. */
export type RejectionReason =
  | 'not-an-object'
  | 'missing-id'
  | 'invalid-id'
  | 'wrong-type'
  /** Precomputed vectors (`catalogue.fields.embedding`): absent, not a list of numbers, wrong length, NaN/Inf, or all zeros. */
  | 'missing-embedding'
  | 'invalid-embedding';

/** Result of coercing one value: the value, `null` for missing, or a wrong-type marker. */
export const WRONG_TYPE: unique symbol = Symbol('wrong-type');

/** Text: strings as is; finite numbers and bigints as their decimal form. */
export function coerceText(v: unknown): string | null | typeof WRONG_TYPE {
  if (typeof v === 'string') return v;
  if (v === undefined || v === null) return null;
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : WRONG_TYPE;
  if (typeof v === 'bigint') return String(v);
  return WRONG_TYPE;
}

/**
 * Categorical: like text; for path features an array of strings/numbers is also accepted as
 * the list of levels (joined with the separator), the shape some exporters write paths in.
 */
export function coerceCategorical(v: unknown, separator: string | null): string | null | typeof WRONG_TYPE {
  if (Array.isArray(v) && separator !== null) {
    const parts: string[] = [];
    for (const part of v) {
      const text = coerceText(part);
      if (text === WRONG_TYPE) return WRONG_TYPE;
      if (text !== null) parts.push(text);
    }
    return parts.join(separator);
  }
  return coerceText(v);
}

const NUMERIC_STRING = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;

/** Numeric: finite numbers; strings holding one decimal number ("12.50", " 3 "); blank → missing. */
export function coerceNumber(v: unknown): number | null | typeof WRONG_TYPE {
  if (typeof v === 'number') return Number.isFinite(v) ? v : WRONG_TYPE;
  if (v === undefined || v === null) return null;
  if (typeof v === 'string') {
    const t = v.trim();
    if (t === '') return null;
    return NUMERIC_STRING.test(t) ? Number(t) : WRONG_TYPE;
  }
  if (typeof v === 'bigint') return Number(v);
  return WRONG_TYPE;
}

const INT64_MAX = (1n << 63n) - 1n;
const DIGITS = /^\d{1,19}$/;

/**
 * Item id: a non-negative integer that fits int64 (faiss ids), as a number (safe integers only,
 * larger numbers have already lost precision), a bigint, or a string of decimal digits.
 * Returns a number when it is safe (the common case, no allocation) or a bigint otherwise.
 */
export function coerceItemId(v: unknown): number | bigint | null | typeof WRONG_TYPE {
  if (typeof v === 'number') return Number.isSafeInteger(v) && v >= 0 ? v : WRONG_TYPE;
  if (v === undefined || v === null) return null;
  if (typeof v === 'string') {
    const t = v.trim();
    if (t === '') return null;
    if (!DIGITS.test(t)) return WRONG_TYPE;
    const big = BigInt(t);
    return big <= INT64_MAX ? big : WRONG_TYPE;
  }
  if (typeof v === 'bigint') return v >= 0n && v <= INT64_MAX ? v : WRONG_TYPE;
  return WRONG_TYPE;
}

/** Short description of a rejected value for reports (never the whole value: it may be huge). */
export function describeValue(v: unknown): string {
  const text = preview(v, 0, { left: DESCRIBE_CHARS + 1 });
  return text.length > DESCRIBE_CHARS ? `${text.slice(0, DESCRIBE_CHARS - 3)}...` : text;
}

/** Characters of a value shown in messages. */
const DESCRIBE_CHARS = 60;
/** Nesting shown in messages: deeper levels print as `...` (a 10,000-level value must not overflow the stack). */
const DESCRIBE_DEPTH = 4;

/**
 * JSON-like text of a value, walked with a depth bound and a character budget (so neither deep
 * nor huge user data costs more than the preview shows), never throwing: bigints as their digits.
 */
function preview(v: unknown, depth: number, budget: { left: number }): string {
  let out: string;
  if (typeof v === 'bigint')
    out = String(v); // a Parquet INT64 id reads as digits, as the user wrote it
  else if (typeof v === 'string') out = JSON.stringify(v.length > budget.left ? v.slice(0, budget.left) : v);
  else if (v === null || typeof v !== 'object')
    out = v === undefined ? 'undefined' : typeof v === 'number' && !Number.isFinite(v) ? String(v) : String(JSON.stringify(v) ?? v);
  else if (depth >= DESCRIBE_DEPTH) out = Array.isArray(v) ? '[...]' : '{...}';
  else {
    const parts: string[] = [];
    const add = (key: string | undefined, value: unknown): boolean => {
      if (budget.left <= 0) {
        parts.push('...');
        return false;
      }
      const item = `${key === undefined ? '' : `${JSON.stringify(key)}:`}${preview(value, depth + 1, budget)}`;
      budget.left -= 1;
      parts.push(item);
      return true;
    };
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) if (!add(undefined, v[i])) break;
    } else {
      for (const key in v as object) if (Object.hasOwn(v as object, key) && !add(key, (v as Record<string, unknown>)[key])) break;
    }
    return Array.isArray(v) ? `[${parts.join(',')}]` : `{${parts.join(',')}}`;
  }
  budget.left -= out.length;
  return out;
}
