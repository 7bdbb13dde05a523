import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { IdMapError } from '../errors.js';
import { parseIdMap, readIdMapFile, serializeIdMap, writeIdMapFile } from './id-map-file.js';
import { IdMapper } from './id-mapper.js';
import { hashStringId, int64ItemId } from './item-id.js';

function rejectsCode(fn: () => unknown, code: string, ...mentions: string[]): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof IdMapError, String(e));
    assert.equal(e.code, code);
    for (const m of mentions) assert.ok(e.message.includes(m), `${e.message} should mention ${m}`);
    return true;
  });
}

describe('item ids', () => {
  it('hashes strings to stable positive 63-bit ids', () => {
    const h = hashStringId('sku-1');
    assert.equal(h, hashStringId('sku-1'));
    assert.ok(h >= 0n && h < 1n << 63n);
    // Pinned: first 8 bytes of sha256, big-endian, top bit cleared, so serving can reproduce them.
    // sha256("sku-1") starts 57156ade504c73c5 (top bit already 0).
    assert.equal(h, 0x57156ade504c73c5n);
    // sha256("sku-2") starts 82bdbcb74c832f9a: the top bit is masked off.
    assert.equal(hashStringId('sku-2'), 0x82bdbcb74c832f9an & ((1n << 63n) - 1n));
    assert.equal(hashStringId('sku-2'), 197521454122872730n);
    assert.notEqual(hashStringId('sku-1'), hashStringId('sku-2'));
  });

  it('uses integer ids directly and rejects unsafe or reserved ones', () => {
    assert.equal(int64ItemId(42), 42n);
    assert.equal(int64ItemId(9_007_199_254_740_993n), 9_007_199_254_740_993n);
    rejectsCode(() => int64ItemId(2 ** 60), 'ID_UNSAFE_NUMBER', String(2 ** 60));
    rejectsCode(() => int64ItemId(1n << 63n), 'ID_OUT_OF_RANGE');
    rejectsCode(() => int64ItemId(-1), 'ID_RESERVED');
  });
});

describe('IdMapper', () => {
  it('maps integer ids without recording them and string ids with a lookup', () => {
    const ints = new IdMapper();
    assert.equal(ints.add(7), 7n);
    assert.equal(ints.add(8n), 8n);
    assert.equal(ints.size, 0);
    assert.equal(ints.kind, 'int64');
    const strings = new IdMapper();
    const id = strings.add('sku-1');
    assert.equal(id, hashStringId('sku-1'));
    assert.equal(strings.lookup(id), 'sku-1');
    strings.add('sku-1');
    assert.equal(strings.duplicates, 1);
  });

  it('refuses mixed id kinds and non-ids', () => {
    const mapper = new IdMapper();
    mapper.add('a');
    rejectsCode(() => mapper.add(5), 'ID_MIXED_KINDS', '5', 'strings');
    rejectsCode(() => new IdMapper().add(1.5), 'ID_INVALID', '1.5');
    rejectsCode(() => new IdMapper().add(null), 'ID_INVALID', 'null');
    rejectsCode(() => new IdMapper().add(''), 'ID_INVALID', 'empty');
  });

  it('reports a hash collision naming both ids, within a shard and at merge', () => {
    // Real 63-bit collisions are out of reach (~2^31 ids for even odds), so plant one: a mapper
    // that already holds id A under the faiss id that B hashes to.
    const shard = new IdMapper();
    shard.add('sku-b');
    const forged = parseIdMapUnchecked(hashStringId('sku-b'), 'sku-a');
    rejectsCode(() => forged.merge(shard), 'ID_COLLISION', '"sku-a"', '"sku-b"', String(hashStringId('sku-b')));
    const within = parseIdMapUnchecked(hashStringId('sku-b'), 'sku-a');
    rejectsCode(() => within.add('sku-b'), 'ID_COLLISION', '"sku-a"', '"sku-b"');
    assert.equal(within.lookup(hashStringId('sku-b')), 'sku-a', 'the first id keeps its mapping');
  });

  it('merges shard mappers and counts cross-shard duplicates', () => {
    const a = new IdMapper();
    const b = new IdMapper();
    a.add('x');
    a.add('y');
    b.add('y');
    b.add('z');
    const merged = new IdMapper();
    merged.merge(a);
    merged.merge(b);
    assert.equal(merged.size, 3);
    assert.equal(merged.duplicates, 1);
    const ints = new IdMapper();
    ints.add(1);
    rejectsCode(() => merged.merge(ints), 'ID_MIXED_KINDS');
  });

  it('serializes to sorted JSONL and reads it back, from memory and from a file', async () => {
    const mapper = new IdMapper();
    for (const id of ['b', 'a', 'ü-long id with spaces', '12345']) mapper.add(id);
    const text = serializeIdMap(mapper).toString();
    const lines = text
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as [string, string]);
    assert.equal(lines.length, 4);
    const ids = lines.map(([f]) => BigInt(f));
    assert.deepEqual(
      [...ids].sort((p, q) => (p < q ? -1 : 1)),
      ids,
      'sorted by faiss id',
    );
    assert.deepEqual([...parseIdMap(text).entries()], [...mapper.entries()]);
    const dir = await mkdtemp(join(tmpdir(), 'reindex-idmap-'));
    try {
      const path = join(dir, 'idmap.jsonl');
      await writeIdMapFile(mapper, path);
      assert.equal(await readFile(path, 'utf8'), text);
      assert.deepEqual([...(await readIdMapFile(path)).entries()], [...mapper.entries()]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    assert.throws(
      () => parseIdMap('["1","a"]\n'),
      (e: unknown) => e instanceof IdMapError && e.message.includes('maps to'),
    );
    assert.throws(() => parseIdMap('{"x":1}\n'), /pair/);
  });
});

/** A mapper holding `itemId` under an arbitrary faiss id, as a corrupted or colliding map would. */
function parseIdMapUnchecked(faissId: bigint, itemId: string): IdMapper {
  const mapper = new IdMapper();
  mapper.add('seed');
  (mapper as unknown as { byFaissId: Map<bigint, string> }).byFaissId.clear();
  (mapper as unknown as { byFaissId: Map<bigint, string> }).byFaissId.set(faissId, itemId);
  return mapper;
}
