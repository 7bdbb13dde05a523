import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CatalogueError } from '../errors.js';
import { planShards } from '../plan/plan-shards.js';
import { sampleRows } from '../plan/sample-rows.js';
import { openCatalogue } from './catalogue.js';
import { SYNTHETIC_DEFAULTS, SyntheticVectors, parseSyntheticUrl, syntheticUrl } from './synthetic.js';

describe('synthetic catalogues', () => {
  it('parse their URL with defaults and name the parameter at fault', () => {
    assert.deepEqual(parseSyntheticUrl('synthetic:gmm?items=1000'), { kind: 'gmm', items: 1000, ...SYNTHETIC_DEFAULTS });
    const spec = parseSyntheticUrl('synthetic:gmm?items=5&dim=8&modes=3&spread=0.25&rank=2&seed=9');
    assert.deepEqual(parseSyntheticUrl(syntheticUrl(spec)), spec);
    const bad: Array<[string, RegExp]> = [
      ['synthetic:gmm', /parameter "items" is required/],
      ['synthetic:uniform?items=5', /unknown generator "uniform"/],
      ['synthetic:gmm?items=5&colour=red', /unknown parameter "colour"/],
      ['synthetic:gmm?items=0', /"items" must be an integer/],
      ['synthetic:gmm?items=5&dim=1.5', /"dim" must be an integer/],
      ['synthetic:gmm?items=5&spread=-1', /"spread" must be a number in \(0, 10\]/],
    ];
    for (const [url, message] of bad) {
      assert.throws(
        () => parseSyntheticUrl(url),
        (e: unknown) => e instanceof CatalogueError && e.code === 'CATALOGUE_URL_INVALID' && message.test(e.message),
        url,
      );
    }
  });

  it('generate the same unit vector for a row whatever the order or batch it is read in', () => {
    const g = new SyntheticVectors(parseSyntheticUrl('synthetic:gmm?items=1000&dim=16&modes=8'));
    const batch = g.rows('synthetic', 100, 110);
    const alone = new Float32Array(16);
    g.vectorInto(105, alone);
    assert.deepEqual(batch[5]!.value.embedding, alone);
    assert.deepEqual(batch[5]!.location, { file: 'synthetic', row: 105 });
    assert.equal(batch[5]!.value.id, 105);
    const again = new SyntheticVectors(parseSyntheticUrl('synthetic:gmm?items=1000&dim=16&modes=8'));
    assert.deepEqual(again.rows('synthetic', 105, 106)[0]!.value.embedding, alone);
    assert.ok(Math.abs(Math.hypot(...alone) - 1) < 1e-5);
    const otherSeed = new SyntheticVectors(parseSyntheticUrl('synthetic:gmm?items=1000&dim=16&modes=8&seed=2'));
    assert.notDeepEqual(otherSeed.rows('synthetic', 105, 106)[0]!.value.embedding, alone);
  });

  it('are clustered: items of one mode are closer to each other than to other modes, and mode sizes are skewed', () => {
    const g = new SyntheticVectors(parseSyntheticUrl('synthetic:gmm?items=4000&dim=64&modes=16'));
    const rows = g.rows('s', 0, 4000);
    const sizes = new Array<number>(16).fill(0);
    for (let r = 0; r < 4000; r++) sizes[g.modeOf(r)]!++;
    assert.ok(sizes[0]! > 3 * sizes[15]!, `mode sizes ${sizes.join(',')}`);
    const dot = (a: Float32Array, b: Float32Array) => a.reduce((s, x, i) => s + x * b[i]!, 0);
    let same = 0,
      sameN = 0,
      other = 0,
      otherN = 0;
    for (let i = 0; i < 300; i++) {
      for (let j = i + 1; j < 300; j++) {
        const d = dot(rows[i]!.value.embedding as Float32Array, rows[j]!.value.embedding as Float32Array);
        if (g.modeOf(i) === g.modeOf(j)) {
          same += d;
          sameN++;
        } else {
          other += d;
          otherN++;
        }
      }
    }
    assert.ok(same / sameN > other / otherN + 0.3, `mean inner product within modes ${same / sameN}, across ${other / otherN}`);
  });

  it('plan into row ranges covering every row once, sample distinct rows, and stream shards in row order', async () => {
    const catalogue = await openCatalogue('synthetic:gmm?items=250001&dim=4&modes=4');
    const description = await catalogue.describe();
    assert.equal(description.totalRows, 250_001);
    assert.deepEqual(description.files[0]!.rowGroupRows, [100_000, 100_000, 50_001]);
    const plan = await planShards(catalogue, 7);
    let next = 0;
    for (const shard of plan.shards) {
      for (const part of shard.parts) {
        assert.equal(part.kind, 'synthetic-rows');
        if (part.kind !== 'synthetic-rows') continue;
        assert.equal(part.rowStart, next);
        next = part.rowEnd;
      }
    }
    assert.equal(next, 250_001);
    const sample = await sampleRows(catalogue, plan, 1000, 3);
    assert.equal(sample.length, 1000);
    assert.equal(new Set(sample.map((r) => r.value.id)).size, 1000);
    const ids: unknown[] = [];
    for await (const batch of catalogue.readShard(plan.shards[3]!, { batchSize: 4096 })) ids.push(...batch.rows.map((r) => r.value.id));
    const part = plan.shards[3]!.parts[0] as { rowStart: number; rowEnd: number };
    assert.deepEqual(
      ids,
      Array.from({ length: part.rowEnd - part.rowStart }, (_, i) => part.rowStart + i),
    );
    await catalogue.close();
  });
});
