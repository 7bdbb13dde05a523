/**
 * Retrieval properties of the reference bundle (untrained): embeddings must carry lexical
 * similarity. 20,000 items here keep the suite fast on small machines; set
 * REINDEX_SLOW_TESTS=1 to run the same check over 100,000 items.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CatalogueGenerator } from '@reindex/sample-catalogue';
import { ItemEmbedder } from './item-embedder.js';
import { QueryEncoder } from './query-encoder.js';
import { scoreItems, topK } from './fusion.js';
import { referenceBundleDir } from './fixtures.js';

const slow = process.env.REINDEX_SLOW_TESTS === '1';
const itemCount = slow ? 100_000 : 20_000;

test(`an item's own title ranks it first among ${itemCount} items; shared words outrank unrelated titles`, async () => {
  const b = await referenceBundleDir();
  const e = await ItemEmbedder.create(b.dir, { batchSize: 512 });
  const q = await QueryEncoder.create(b.dir);
  try {
    const gen = new CatalogueGenerator({ seed: 11 });
    const records = [...gen.items(0, itemCount)];
    const { ids, vectors, dim } = await e.embed(records);
    const row = new Map<bigint, number>();
    ids.forEach((id, i) => {
      row.set(id, i);
    });

    // Queries: the titles of 60 items spread over the catalogue (CJK and decorated ones included).
    const probes = records.filter(
      (r, i) => i % Math.floor(itemCount / 60) === 0 && typeof r.title === 'string' && r.title !== '' && row.has(BigInt(r.id as number)),
    );
    const heads = await q.encode(probes.map((r) => r.title as string));
    const per = q.heads * dim;
    const misses: string[] = [];
    probes.forEach((r, k) => {
      const scores = scoreItems(heads.subarray(k * per, (k + 1) * per), vectors, dim, q.fusion);
      const [best] = topK(scores, 1);
      if (ids[best!] !== BigInt(r.id as number)) misses.push(`${JSON.stringify(r.title)} → item ${ids[best!]}`);
    });
    assert.deepEqual(misses, [], 'every title finds its own item first');

    // A query of common words: items whose titles share them must score above items sharing none.
    const words = ['waterproof', 'bluetooth', 'speaker'];
    const [query] = [await q.encode([words.join(' ')])];
    const scores = scoreItems(query!, vectors, dim, q.fusion);
    const byId = new Map(records.map((r) => [BigInt(r.id as number), r]));
    const shared = (i: number): number => {
      const t = String(byId.get(ids[i]!)!.title).toLowerCase().split(/\s+/);
      return words.filter((w) => t.includes(w)).length;
    };
    const byShared = new Map<number, number[]>();
    for (let i = 0; i < ids.length; i++) {
      const s = shared(i);
      byShared.set(s, [...(byShared.get(s) ?? []), scores[i]!]);
    }
    const mean = (xs: number[]) => xs.reduce((a, x) => a + x, 0) / xs.length;
    if (process.env.DEBUG_RETRIEVAL) console.log([...byShared].map(([k, v]) => [k, v.length, mean(v)]));
    assert.ok(mean(byShared.get(1)!) > mean(byShared.get(0)!) + 0.1, 'one shared word beats none');
    assert.ok(mean(byShared.get(2)!) > mean(byShared.get(1)!), 'two shared words beat one');
    assert.ok(mean(byShared.get(3)!) > mean(byShared.get(2)!) + 0.1, 'three shared words beat two');
    // Trigrams make near-spellings similar too ("blue" shares "<bl", "blu", "lue" with
    // "bluetooth"), so a few top items may share one word plus such n-grams.
    const top = topK(scores, 20).map(shared);
    assert.ok(
      top.every((s) => s >= 1),
      `top-20 shared-word counts ${top.join(',')}`,
    );
    assert.ok(top.filter((s) => s >= 2).length >= 15, `top-20 shared-word counts ${top.join(',')}`);
  } finally {
    await e.close();
    await q.close();
    await b.cleanup();
  }
});
