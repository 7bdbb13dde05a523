import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TextTokenizer, normalizeText } from './text-tokenizer.js';
import { bucketOf, hashString } from './hash.js';
import { Rng } from './rng.js';
import { referenceFeatureSpecs } from './reference-model.js';
import type { TextFeatureSpec } from './feature-spec.js';

const title = referenceFeatureSpecs()[0] as TextFeatureSpec;

function run(text: string, spec: Omit<TextFeatureSpec, 'kind' | 'field' | 'input' | 'maskInput' | 'dtype'> = title) {
  const t = new TextTokenizer();
  const ids = new Int32Array(spec.maxLength);
  const n = t.hashTokens(text, spec, ids, 0);
  return { tokens: t.tokens(text, spec), ids: [...ids.subarray(0, n)] };
}

// Golden cases: the token strings document the rules; the ids pin the hashing (computed once
// with the reference title spec: 65536 buckets, seed 1, trigrams, CJK bigrams).
test('Latin text: lower-cased words first, then boundary-marked trigrams', () => {
  const r = run('Blue Cotton Shirt');
  assert.deepEqual(r.tokens, [
    'blue',
    'cotton',
    'shirt',
    '<bl',
    'blu',
    'lue',
    'ue>',
    '<co',
    'cot',
    'ott',
    'tto',
    'ton',
    'on>',
    '<sh',
    'shi',
    'hir',
    'irt',
    'rt>',
  ]);
  assert.deepEqual(r.ids, [30279, 16528, 42562, 31377, 57744, 55163, 45140, 22796, 62340, 7614, 31011, 4812, 21350, 57333, 34397, 37833, 5503, 20581]);
});

test('CJK: one token per character, then bigrams of adjacent characters only', () => {
  const r = run('红色连衣裙 夏季');
  assert.deepEqual(r.tokens, ['红', '色', '连', '衣', '裙', '夏', '季', '红色', '色连', '连衣', '衣裙', '夏季']);
  assert.deepEqual(r.ids, [24627, 54450, 47569, 28614, 16556, 3335, 380, 29063, 34484, 45486, 21149, 14004]);
  assert.ok(!r.tokens.includes('裙夏'), 'no bigram across the space');
});

test('emoji: pictographs are tokens; ZWJ, variation selectors and skin tones are dropped', () => {
  const r = run('I ❤️ NY 👍🏽 👨‍👩‍👧');
  assert.deepEqual(r.tokens, ['i', '❤', 'ny', '👍', '👨', '👩', '👧', '<ny', 'ny>']);
  assert.deepEqual(r.ids, [32839, 8505, 42426, 33498, 40464, 13938, 49919, 56530, 29176]);
});

test('NFKC folds full-width letters and ligatures; accents are kept', () => {
  assert.equal(normalizeText('ＡＢＣ ﬁne Café'), 'abc fine café');
  const r = run('ＡＢＣ ﬁne Café');
  assert.deepEqual(r.tokens.slice(0, 3), ['abc', 'fine', 'café']);
  assert.deepEqual(r.ids.slice(0, 3), [49130, 50171, 18111]);
  assert.deepEqual(run('abc fine café').ids, r.ids, 'normalized and raw spellings hash alike');
});

test('empty and separator-only text yield no tokens', () => {
  assert.deepEqual(run('').ids, []);
  assert.deepEqual(run('  -- !! ').ids, []);
});

test('very long text is truncated to maxLength, keeping all words before any n-gram', () => {
  const words = Array.from({ length: 60 }, (_, i) => `w${i}`);
  const r = run(words.join(' '));
  assert.equal(r.ids.length, title.maxLength);
  assert.deepEqual(r.tokens, words.slice(0, title.maxLength));
  const short = run('a b c d e f g h alpha');
  assert.deepEqual(short.tokens.slice(0, 9), ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'alpha']);
  assert.ok(short.tokens.includes('<al'));
  const huge = run('x'.repeat(100_000));
  assert.equal(huge.ids.length, title.maxLength, 'one 100,000-character word fills the slots with its n-grams');
});

test('hyphens and apostrophes separate words; soft hyphens do not', () => {
  assert.deepEqual(run('usb-c hub').tokens.slice(0, 3), ['usb', 'c', 'hub']);
  assert.deepEqual(run('co\u00adop').tokens.slice(0, 1), ['coop']);
});

test('categorical values hash their canonical form; path prefixes are shared', () => {
  const t = new TextTokenizer();
  const a = new Int32Array(3);
  const b = new Int32Array(3);
  assert.equal(t.hashCategorical('Clothing > Men > Shirts', '>', 2, 16384, a, 0, 3), 3);
  assert.equal(t.hashCategorical('clothing>MEN>jackets', '>', 2, 16384, b, 0, 3), 3);
  assert.deepEqual([a[0], a[1]], [b[0], b[1]], 'same first two levels');
  assert.notEqual(a[2], b[2]);
  assert.equal(t.hashCategorical('A > > B > C > D', '>', 2, 16384, a, 0, 3), 3, 'empty levels skipped, depth capped');
  const x = new Int32Array(1);
  const y = new Int32Array(1);
  t.hashCategorical("Levi's  ", null, 3, 16384, x, 0, 1);
  t.hashCategorical('levi s', null, 3, 16384, y, 0, 1);
  assert.equal(x[0], y[0]);
});

test('hashTokens hashes exactly the tokens that tokens() lists, for a whole sample catalogue', async () => {
  const { CatalogueGenerator } = await import('@reindex/sample-catalogue');
  const t = new TextTokenizer();
  const ids = new Int32Array(title.maxLength);
  for (const item of new CatalogueGenerator({ seed: 3 }).items(0, 5000)) {
    const text = String(item.title);
    const n = t.hashTokens(text, title, ids, 0);
    const expected = t.tokens(text, title).map((tok) => bucketOf(hashString(tok, title.seed), title.buckets));
    assert.deepEqual([...ids.subarray(0, n)], expected, text);
  }
});

test('the word memo never changes ids: tiny memos (constant conflicts), several n-gram sizes, any order', () => {
  const spec = { ...title, maxLength: 64, charNgramSizes: [2, 3, 5] };
  const rng = new Rng(11);
  const pieces = [
    'shirt',
    'Shirt',
    'shirts',
    'a',
    'ab',
    'abc',
    '连衣裙',
    '👍',
    'x'.repeat(30),
    'y'.repeat(24),
    'z'.repeat(25),
    'café',
    'ＡＢＣ',
    'usb-c',
    '3-pack',
    '',
    '  ',
  ];
  const texts = Array.from({ length: 3000 }, () =>
    Array.from({ length: 1 + Math.floor(rng.nextFloat() * 12) }, () => pieces[Math.floor(rng.nextFloat() * pieces.length)]).join(' '),
  );
  const reference = new TextTokenizer();
  const expected = texts.map((text) => reference.tokens(text, spec).map((tok) => bucketOf(hashString(tok, spec.seed), spec.buckets)));
  for (const slots of [1, 4, 1 << 15]) {
    const t = new TextTokenizer(slots);
    const ids = new Int32Array(spec.maxLength);
    for (const order of [1, -1]) {
      for (let k = 0; k < texts.length; k++) {
        const i = order === 1 ? k : texts.length - 1 - k;
        const n = t.hashTokens(texts[i]!, spec, ids, 0);
        assert.deepEqual([...ids.subarray(0, n)], expected[i], `slots ${slots}: ${JSON.stringify(texts[i])}`);
      }
    }
    if (slots === 1 << 15) assert.ok(t.cacheStats().hits > t.cacheStats().misses, 'the memo is used');
  }
});

test('the word memo tells apart words whose 32-bit hashes collide', () => {
  // "hpfo" and "0rja" have the same full hash under seed 1, so they land in one memo slot.
  assert.equal(hashString('hpfo', title.seed), hashString('0rja', title.seed));
  const t = new TextTokenizer();
  const ids = new Int32Array(title.maxLength);
  for (const text of ['hpfo', '0rja', 'hpfo 0rja', '0rja hpfo', 'hpfo']) {
    const n = t.hashTokens(text, title, ids, 0);
    const expected = t.tokens(text, title).map((tok) => bucketOf(hashString(tok, title.seed), title.buckets));
    assert.deepEqual([...ids.subarray(0, n)], expected, text);
  }
});
