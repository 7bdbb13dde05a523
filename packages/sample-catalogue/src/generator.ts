/**
 * Deterministic synthetic e-commerce items. Item i depends only on (seed, i), so catalogues of
 * any size stream out in constant memory and the same (seed, i) is the same item everywhere.
 */
import { ItemRng, zipfCdf } from './rng.js';
import { ADJECTIVES, BRAND_SYLLABLES, CATEGORY_TREE, CJK_COLORS, CJK_MODIFIERS, CJK_NOUNS, COLORS, MATERIALS, SIZES } from './vocabulary.js';

/** A catalogue row as written to JSONL (odd rows deviate on purpose; see {@link Oddity}). */
export interface CatalogueItem {
  id: number;
  title: string;
  category: string;
  brand: string;
  shop: string;
  price: number;
}

/**
 * Deliberately odd rows (about `oddRate` of all rows, kinds equally likely), so that every
 * featurization path runs on the sample catalogue. In JSONL:
 * - `empty-title`: `title: ""` (valid: embedded from the other fields)
 * - `missing-brand`: no `brand` key (valid: brand missing)
 * - `null-shop`: `shop: null` (valid: shop missing)
 * - `price-string`: `price: "12.50"`, a numeric string (valid: coerced to 12.5)
 * - `title-number`: `title: 123456`, a number (valid: coerced to "123456")
 * - `category-object`: `category: {"x": 1}` (rejected: wrong type)
 * - `price-invalid`: `price: "n/a"` (rejected: wrong type)
 * Parquet has a fixed schema, so there the last four become `"12.50"`→12.5, `123456`→"123456",
 * object→null category, "n/a"→null price (all valid).
 */
export type Oddity = 'empty-title' | 'missing-brand' | 'null-shop' | 'price-string' | 'title-number' | 'category-object' | 'price-invalid';

export const ODDITIES: readonly Oddity[] = ['empty-title', 'missing-brand', 'null-shop', 'price-string', 'title-number', 'category-object', 'price-invalid'];

/** Oddities a JSONL reader must reject. */
export const REJECTED_ODDITIES: readonly Oddity[] = ['category-object', 'price-invalid'];

export interface GeneratorOptions {
  /** Seed of the whole catalogue. Default 1. */
  seed: number;
  /** Fraction of deliberately odd rows. Default 0.01. */
  oddRate: number;
  /** Fraction of CJK (Chinese/Japanese) titles. Default 0.05. */
  cjkRate: number;
  /** Number of distinct shops ("shop-0000" ...). Default 5000. */
  shopCount: number;
  /** Number of distinct brands (Zipf-distributed: a few big brands, a long tail). Default 2000. */
  brandCount: number;
  /** Id of item 0; item i has id `firstId + i`. Default 1. */
  firstId: number;
}

export const GENERATOR_DEFAULTS: Readonly<GeneratorOptions> = Object.freeze({
  seed: 1,
  oddRate: 0.01,
  cjkRate: 0.05,
  shopCount: 5000,
  brandCount: 2000,
  firstId: 1,
});

interface Leaf {
  path: string;
  nouns: string[];
  /** Median price of the leaf, so prices follow categories as they do in real shops. */
  basePrice: number;
}

const LEAVES: Leaf[] = [];
for (const [top, mids] of Object.entries(CATEGORY_TREE)) {
  for (const [mid, leaves] of Object.entries(mids)) {
    for (const [leaf, nouns] of Object.entries(leaves)) {
      const basePrice = { Clothing: 35, Electronics: 120, Home: 60, Sports: 40, Beauty: 18 }[top] ?? 30;
      LEAVES.push({ path: `${top} > ${mid} > ${leaf}`, nouns, basePrice });
    }
  }
}

/** Generates items for one configuration; cheap to construct, stateless per item. */
export class CatalogueGenerator {
  readonly options: Readonly<GeneratorOptions>;
  private readonly brands: string[];
  private readonly brandCdf: Float64Array;
  private readonly adjectiveCdf = zipfCdf(ADJECTIVES.length);
  private readonly leafCdf = zipfCdf(LEAVES.length, 0.6);

  constructor(options: Partial<GeneratorOptions> = {}) {
    this.options = { ...GENERATOR_DEFAULTS, ...options };
    const n = BRAND_SYLLABLES.length;
    this.brands = Array.from({ length: this.options.brandCount }, (_, r) => {
      const a = BRAND_SYLLABLES[r % n] as string;
      const b = BRAND_SYLLABLES[Math.floor(r / n) % n] as string;
      const name = r < n ? a + b : a + b + (BRAND_SYLLABLES[Math.floor(r / (n * n)) % n] as string);
      return name.charAt(0).toUpperCase() + name.slice(1);
    });
    this.brandCdf = zipfCdf(this.brands.length);
  }

  /** Item `index` (0-based) and the oddity it carries, if any. */
  item(index: number): { item: Record<string, unknown>; oddity: Oddity | null } {
    const o = this.options;
    const rng = new ItemRng(o.seed, index);
    const leaf = LEAVES[rng.fromCdf(this.leafCdf)] as Leaf;
    const brand = this.brands[rng.fromCdf(this.brandCdf)] as string;
    const noun = rng.pick(leaf.nouns);
    // Model codes ("KX-4821") make titles unique as real listings are, while the words around
    // them repeat with realistic skew.
    const code = `${String.fromCharCode(65 + rng.int(26), 65 + rng.int(26))}-${100 + rng.int(9900)}`;
    let title: string;
    if (rng.float() < o.cjkRate) {
      title = `${brand} ${rng.pick(CJK_MODIFIERS)}${rng.pick(CJK_COLORS)}${rng.pick(CJK_NOUNS)} ${code}`;
    } else {
      const words = [brand];
      if (rng.float() < 0.8) words.push(ADJECTIVES[rng.fromCdf(this.adjectiveCdf)] as string);
      if (rng.float() < 0.6) words.push(rng.pick(COLORS));
      if (rng.float() < 0.5) words.push(rng.pick(MATERIALS));
      words.push(noun);
      if (rng.float() < 0.3) words.push(rng.pick(SIZES));
      words.push(code);
      title = words.join(' ');
      // Marketplace titles often shout or decorate; normalization must cope.
      if (rng.float() < 0.05) title = title.toUpperCase();
      if (rng.float() < 0.01) title += ' 🔥';
    }
    // Log-normal-ish price around the leaf's median, rounded to cents.
    const spread = (rng.float() + rng.float() + rng.float() - 1.5) * 1.6;
    const price = Math.max(0.5, Math.round(leaf.basePrice * Math.exp(spread) * 100) / 100);
    const shop = `shop-${String(rng.int(o.shopCount)).padStart(4, '0')}`;
    const item: Record<string, unknown> = { id: o.firstId + index, title, category: leaf.path, brand, shop, price };
    let oddity: Oddity | null = null;
    if (rng.float() < o.oddRate) {
      oddity = rng.pick(ODDITIES);
      switch (oddity) {
        case 'empty-title':
          item.title = '';
          break;
        case 'missing-brand':
          delete item.brand;
          break;
        case 'null-shop':
          item.shop = null;
          break;
        case 'price-string':
          item.price = price.toFixed(2);
          break;
        case 'title-number':
          item.title = 100000 + rng.int(900000);
          break;
        case 'category-object':
          item.category = { x: 1 };
          break;
        case 'price-invalid':
          item.price = 'n/a';
          break;
      }
    }
    return { item, oddity };
  }

  /** Items `[start, end)` in order, one at a time (constant memory). */
  *items(start: number, end: number): Generator<Record<string, unknown>> {
    for (let i = start; i < end; i++) yield this.item(i).item;
  }
}
