/**
 * The feature spec of a model bundle (part of the bundle contract, stored in bundle.json): how
 * each catalogue field becomes one or two ONNX input tensors.
 */

/** Integer dtypes an id input may have. PyTorch embedding indices are int64. */
export type IdDtype = 'int64' | 'int32';

/** Text tokenization rules shared by item text features and the query tower. */
export interface TextTokenization {
  /** Hash bucket count, ids in [1, buckets); 0 is padding. */
  buckets: number;
  /** Hash seed (unsigned 32-bit) so fields sharing a bucket space do not collide by design. */
  seed: number;
  /** Token slots; longer token lists are truncated, shorter ones padded with id 0 / mask 0. */
  maxLength: number;
  /** Character n-gram sizes taken over each word wrapped in `<` `>` (fastText style); [] for none. */
  charNgramSizes: number[];
  /** Also emit bigrams of adjacent CJK characters (CJK characters are single-character words). */
  cjkBigrams: boolean;
}

/** Free text (title): word/CJK tokens + n-grams → `[batch, maxLength]` ids plus a float mask. */
export interface TextFeatureSpec extends TextTokenization {
  kind: 'text';
  /** Logical field name (mapped to a source field by the featurizer's field mapping). */
  field: string;
  /** ONNX input of the ids, shape [batch, maxLength]. */
  input: string;
  /** ONNX input of the mask (float32, 1 for a token, 0 for padding), shape [batch, maxLength]. */
  maskInput: string;
  dtype: IdDtype;
}

/**
 * A categorical value (brand, shop) or a category path ("Clothing > Men > Shirts") → hashed ids,
 * `[batch, maxDepth]`. A path yields one id per prefix ("clothing", "clothing>men", ...), so
 * items share the coarse levels; missing levels and missing values are id 0.
 */
export interface CategoricalFeatureSpec {
  kind: 'categorical';
  field: string;
  input: string;
  dtype: IdDtype;
  buckets: number;
  seed: number;
  /** Separator of path levels; null for flat values (the whole value is one id). */
  pathSeparator: string | null;
  /** Number of id slots (path levels kept); 1 for flat values. */
  maxDepth: number;
}

/** A number (price) → bucket id `[batch, 1]`: 0 when missing, else 1 + count of boundaries ≤ value. */
export interface NumericFeatureSpec {
  kind: 'numeric';
  field: string;
  input: string;
  dtype: IdDtype;
  /** Strictly ascending bucket boundaries. */
  boundaries: number[];
}

export type FeatureSpec = TextFeatureSpec | CategoricalFeatureSpec | NumericFeatureSpec;

/** Width (second dimension) of the id tensor of a feature. */
export function featureWidth(spec: FeatureSpec): number {
  switch (spec.kind) {
    case 'text':
      return spec.maxLength;
    case 'categorical':
      return spec.maxDepth;
    case 'numeric':
      return 1;
  }
}

/**
 * Parses and checks a feature list from bundle.json. Returns the list of problems (empty when
 * valid) rather than throwing at the first, so a user fixing a bundle sees all of them at once.
 */
export function checkFeatureSpecs(value: unknown, where: string): string[] {
  const problems: string[] = [];
  if (!Array.isArray(value) || value.length === 0) {
    return [`${where} must be a non-empty array of features`];
  }
  const inputs = new Set<string>();
  value.forEach((raw: unknown, i) => {
    const at = `${where}[${i}]`;
    if (typeof raw !== 'object' || raw === null) {
      problems.push(`${at} must be an object`);
      return;
    }
    const f = raw as Record<string, unknown>;
    const claimInput = (key: string): void => {
      const name = f[key];
      if (typeof name !== 'string' || name === '') {
        problems.push(`${at}.${key} must be a non-empty string`);
      } else if (inputs.has(name)) {
        problems.push(`${at}.${key} "${name}" is used by two features`);
      } else {
        inputs.add(name);
      }
    };
    if (typeof f.field !== 'string' || f.field === '') problems.push(`${at}.field must be a non-empty string`);
    claimInput('input');
    if (f.dtype !== 'int64' && f.dtype !== 'int32') problems.push(`${at}.dtype must be "int64" or "int32"`);
    const allowed = FEATURE_KEYS[f.kind as string];
    if (allowed) problems.push(...unknownKeys(f, allowed, at));
    switch (f.kind) {
      case 'text':
        claimInput('maskInput');
        problems.push(...checkTokenization(f, at));
        break;
      case 'categorical':
        checkInt(f.buckets, `${at}.buckets`, 2, 2 ** 31 - 1, problems);
        checkInt(f.seed, `${at}.seed`, 0, 2 ** 32 - 1, problems);
        checkInt(f.maxDepth, `${at}.maxDepth`, 1, 64, problems);
        if (f.pathSeparator !== null && (typeof f.pathSeparator !== 'string' || f.pathSeparator === '')) {
          problems.push(`${at}.pathSeparator must be a non-empty string or null`);
        }
        break;
      case 'numeric': {
        const b = f.boundaries;
        if (!Array.isArray(b) || b.some((x, j) => typeof x !== 'number' || !Number.isFinite(x) || (j > 0 && x <= (b[j - 1] as number)))) {
          problems.push(`${at}.boundaries must be a strictly ascending array of finite numbers`);
        }
        break;
      }
      default:
        problems.push(`${at}.kind must be "text", "categorical" or "numeric" (got ${JSON.stringify(f.kind)})`);
    }
  });
  return problems;
}

const TOKENIZATION_KEYS = ['buckets', 'seed', 'maxLength', 'charNgramSizes', 'cjkBigrams'];
const COMMON_FEATURE_KEYS = ['kind', 'field', 'input', 'dtype'];
/** The keys each kind of feature may have: any other is a typo that would silently do nothing. */
const FEATURE_KEYS: Record<string, readonly string[]> = {
  text: [...COMMON_FEATURE_KEYS, 'maskInput', ...TOKENIZATION_KEYS],
  categorical: [...COMMON_FEATURE_KEYS, 'buckets', 'seed', 'pathSeparator', 'maxDepth'],
  numeric: [...COMMON_FEATURE_KEYS, 'boundaries'],
};
/** Keys of the query tower's input object. */
export const QUERY_INPUT_KEYS: readonly string[] = ['input', 'maskInput', 'dtype', ...TOKENIZATION_KEYS];

/** One problem per key of `value` not in `allowed`, naming it at `at`. */
export function unknownKeys(value: Record<string, unknown>, allowed: readonly string[], at: string): string[] {
  return Object.keys(value)
    .filter((k) => !allowed.includes(k))
    .map((k) => `${at === '' ? '' : `${at}.`}${k} is not a known key (known: ${allowed.join(', ')})`);
}

/** Checks the tokenization fields of a text feature or of the query tower's input. */
export function checkTokenization(f: Record<string, unknown>, at: string): string[] {
  const problems: string[] = [];
  checkInt(f.buckets, `${at}.buckets`, 2, 2 ** 31 - 1, problems);
  checkInt(f.seed, `${at}.seed`, 0, 2 ** 32 - 1, problems);
  checkInt(f.maxLength, `${at}.maxLength`, 1, 4096, problems);
  if (!Array.isArray(f.charNgramSizes) || f.charNgramSizes.some((n) => !Number.isInteger(n) || (n as number) < 2 || (n as number) > 8)) {
    problems.push(`${at}.charNgramSizes must be an array of integers in [2, 8]`);
  }
  if (typeof f.cjkBigrams !== 'boolean') problems.push(`${at}.cjkBigrams must be a boolean`);
  return problems;
}

function checkInt(v: unknown, at: string, min: number, max: number, problems: string[]): void {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    problems.push(`${at} must be an integer in [${min}, ${max}] (got ${JSON.stringify(v)})`);
  }
}
