import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CatalogueGenerator, GENERATOR_DEFAULTS, ODDITIES, REJECTED_ODDITIES } from './generator.js';

test('defaults are the documented ones', () => {
  assert.deepEqual(GENERATOR_DEFAULTS, { seed: 1, oddRate: 0.01, cjkRate: 0.05, shopCount: 5000, brandCount: 2000, firstId: 1 });
});

test('item i depends only on (seed, i): any order, any instance, same item', () => {
  const a = new CatalogueGenerator();
  const b = new CatalogueGenerator();
  const forward = [...a.items(0, 500)];
  const backward = Array.from({ length: 500 }, (_, k) => b.item(499 - k).item).reverse();
  assert.deepEqual(forward, backward);
  assert.deepEqual(a.item(123_456_789).item, b.item(123_456_789).item, 'far items are cheap and stable');
  assert.notDeepEqual(new CatalogueGenerator({ seed: 2 }).item(0).item, a.item(0).item);
});

test('records have the documented shape; ids are firstId + index', () => {
  const gen = new CatalogueGenerator({ firstId: 1000 });
  for (let i = 0; i < 2000; i++) {
    const { item, oddity } = gen.item(i);
    assert.equal(item.id, 1000 + i);
    if (oddity !== null) continue;
    assert.equal(typeof item.title, 'string');
    assert.match(item.category as string, /^\w+ > \w+ > \w+$/);
    assert.match(item.shop as string, /^shop-\d{4}$/);
    assert.ok(typeof item.price === 'number' && item.price > 0 && Number.isFinite(item.price));
    assert.equal(typeof item.brand, 'string');
    assert.ok((item.title as string).toLowerCase().startsWith((item.brand as string).toLowerCase()));
  }
});

test('about 1% odd rows of every documented kind, about 5% CJK titles, mostly unique titles', () => {
  const gen = new CatalogueGenerator();
  const n = 50_000;
  const counts = new Map<string, number>();
  const titles = new Set<unknown>();
  let cjk = 0;
  for (let i = 0; i < n; i++) {
    const { item, oddity } = gen.item(i);
    if (oddity) counts.set(oddity, (counts.get(oddity) ?? 0) + 1);
    titles.add(item.title);
    if (/\p{Script=Han}|\p{Script=Katakana}/u.test(String(item.title))) cjk++;
    // Rows must survive a JSON round trip unchanged (no undefined, NaN or functions).
    assert.deepEqual(JSON.parse(JSON.stringify(item)), item);
  }
  const odd = [...counts.values()].reduce((a, x) => a + x, 0);
  assert.ok(odd > n * 0.008 && odd < n * 0.012, `odd rows: ${odd}`);
  assert.deepEqual([...counts.keys()].sort(), [...ODDITIES].sort());
  assert.ok(cjk > n * 0.04 && cjk < n * 0.06, `CJK titles: ${cjk}`);
  assert.ok(titles.size > n * 0.99, `distinct titles: ${titles.size}`);
  assert.deepEqual(REJECTED_ODDITIES, ['category-object', 'price-invalid']);
});

test('odd rows carry exactly their documented deviation', () => {
  const gen = new CatalogueGenerator({ oddRate: 1 });
  const seen = new Set<string>();
  for (let i = 0; i < 200; i++) {
    const { item, oddity } = gen.item(i);
    seen.add(oddity!);
    switch (oddity) {
      case 'empty-title':
        assert.equal(item.title, '');
        break;
      case 'missing-brand':
        assert.ok(!('brand' in item));
        break;
      case 'null-shop':
        assert.equal(item.shop, null);
        break;
      case 'price-string':
        assert.match(item.price as string, /^\d+\.\d{2}$/);
        break;
      case 'title-number':
        assert.equal(typeof item.title, 'number');
        break;
      case 'category-object':
        assert.deepEqual(item.category, { x: 1 });
        break;
      case 'price-invalid':
        assert.equal(item.price, 'n/a');
        break;
      default:
        assert.fail(`unexpected oddity ${oddity}`);
    }
  }
  assert.equal(seen.size, ODDITIES.length);
});
