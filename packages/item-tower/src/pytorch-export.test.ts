import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { loadBundle, type ModelBundle } from './bundle.js';
import { checkBundleModels } from './bundle-check.js';
import { Featurizer } from './featurizer.js';
import { collapseHeads } from './fusion.js';
import { ItemEmbedder } from './item-embedder.js';
import { QueryEncoder } from './query-encoder.js';
import { TextTokenizer } from './text-tokenizer.js';

const run = promisify(execFile);
/** Debian's interpreter, where scripts/setup.sh installs python3-torch (not a pyenv shim). */
const PYTHON = '/usr/bin/python3';
const SCRIPT = fileURLToPath(new URL('../examples/export_pytorch_bundle.py', import.meta.url));

const records = [
  { id: 1, title: 'Red cotton shirt, long sleeves', category: 'Clothing > Men > Shirts', brand: 'Acme', shop: 'acme-store', price: 19.99 },
  { id: 2, title: '象牙色 羊毛 手套', category: ['Accessories', 'Gloves'], brand: 'Warm', shop: 'cn-1', price: 7 },
  { id: 3, title: 'ivory gloves', category: null, brand: null, shop: 'x', price: null },
  { id: 4, title: '', category: 'Home', brand: 'B', shop: 'y', price: 12000 },
];
const queries = ['ivory gloves', 'red cotton shirt', '手套'];

describe('a bundle exported by torch.onnx.export with the README recipe', () => {
  let dir: string;
  let bundle: ModelBundle;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'reindex-torch-'));
    await run(PYTHON, [SCRIPT, 'export', dir]);
    bundle = await loadBundle(dir);
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('exports plain ops (no ONNX Loop) and passes the plan-time bundle check', async () => {
    for (const file of ['model.onnx', 'query.onnx']) {
      // NodeProto.op_type is field 4 (tag 0x22): a Loop node would hold the bytes 22 04 "Loop".
      assert.equal((await readFile(join(dir, file))).includes(Buffer.from('\x22\x04Loop', 'latin1')), false, `${file} has no Loop node`);
    }
    await checkBundleModels(bundle, { records });
  });

  it('embeds items and encodes queries as torch does, and its weighted fusion is what the bundle declares', async () => {
    // The featurizer's tensors are the inputs torch sees.
    const featurizer = new Featurizer(bundle.manifest.item.features);
    const batch = featurizer.createBatch(records.length);
    featurizer.featurizeInto(records, 0, batch, []);
    assert.equal(batch.count, records.length);
    const item: Record<string, number[][]> = {};
    for (const tensor of batch.tensors) {
      item[tensor.name] = Array.from({ length: batch.count }, (_, r) => Array.from(tensor.data.subarray(r * tensor.width, (r + 1) * tensor.width), Number));
    }
    const q = bundle.manifest.query!;
    const tokenizer = new TextTokenizer();
    const L = q.input.maxLength;
    const ids = new Int32Array(queries.length * L);
    const mask = new Float32Array(queries.length * L);
    queries.forEach((text, i) => {
      mask.fill(1, i * L, i * L + tokenizer.hashTokens(text, q.input, ids, i * L));
    });
    const rows = <T extends Int32Array | Float32Array>(a: T) => Array.from({ length: queries.length }, (_, i) => Array.from(a.subarray(i * L, (i + 1) * L)));
    const inputs = join(dir, 'inputs.json');
    const outputs = join(dir, 'outputs.json');
    await writeFile(inputs, JSON.stringify({ item, query: { query_ids: rows(ids), query_mask: rows(mask) } }));
    await run(PYTHON, [SCRIPT, 'run', dir, inputs, outputs]);
    const torch = JSON.parse(await readFile(outputs, 'utf8')) as { item: number[][]; query: number[][][] };

    const dim = bundle.manifest.dim;
    const embedder = await ItemEmbedder.create(bundle, { intraOpThreads: 1 });
    const encoder = await QueryEncoder.create(bundle, { intraOpThreads: 1 });
    try {
      const embedded = await embedder.embed(records);
      assert.deepEqual(
        Array.from(embedded.ids),
        records.map((r) => BigInt(r.id)),
      );
      let worst = 0;
      torch.item.forEach((vector, r) => {
        vector.forEach((x, j) => {
          worst = Math.max(worst, Math.abs(x - embedded.vectors[r * dim + j]!));
        });
      });
      assert.ok(worst < 1e-5, `item vectors match torch's within ${worst}`);
      const heads = await encoder.encode(queries);
      worst = 0;
      torch.query.forEach((perHead, i) => {
        perHead.forEach((vector, h) => {
          vector.forEach((x, j) => {
            worst = Math.max(worst, Math.abs(x - heads[(i * q.heads + h) * dim + j]!));
          });
        });
      });
      assert.ok(worst < 1e-5, `query heads match torch's within ${worst}`);
      // Weighted fusion: the combined vector scores an item as Σ_h weights[h]·<head_h, item>.
      assert.deepEqual(q.fusion, { kind: 'weighted', weights: [0.7, 0.3] });
      const combined = collapseHeads(heads.subarray(0, q.heads * dim), dim, q.fusion as { kind: 'weighted'; weights: number[] });
      const item0 = embedded.vectors.subarray(0, dim);
      const dot = (a: ArrayLike<number>, b: ArrayLike<number>) => Array.from(a).reduce((s, x, j) => s + x * b[j]!, 0);
      const expected = 0.7 * dot(heads.subarray(0, dim), item0) + 0.3 * dot(heads.subarray(dim, 2 * dim), item0);
      assert.ok(Math.abs(dot(combined, item0) - expected) < 1e-5);
    } finally {
      await embedder.close();
      await encoder.close();
    }
  });
});
