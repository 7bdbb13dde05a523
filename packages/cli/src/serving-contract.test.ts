import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { buildReferenceBundle } from '@reindex/item-tower';
import { writeCatalogue } from '@reindex/sample-catalogue';
import { runBuild } from './run.js';
import { searchIndex } from './search.js';
import { openObjectStore } from '@reindex/core';

const silent = { log: () => undefined, update: () => undefined, clear: () => undefined } as never;

// Reads LATEST → manifest → index.faiss exactly as a Python serving process would, with
// Debian's own faiss build (not our binding's code), then searches one stored vector.
const pythonReader = `
import faiss, json, os, sys, numpy as np
root, name = sys.argv[1], sys.argv[2]
latest = json.load(open(os.path.join(root, 'indexes', name, 'LATEST')))
manifest = json.load(open(os.path.join(root, latest['manifest'])))
vdir = os.path.dirname(os.path.join(root, latest['manifest']))
index = faiss.read_index(os.path.join(vdir, 'index.faiss'), faiss.IO_FLAG_ONDISK_SAME_DIR)
faiss.extract_index_ivf(index).nprobe = manifest['nprobe']
ivf = faiss.extract_index_ivf(index)
lists = faiss.downcast_InvertedLists(ivf.invlists)
ids = []
for l in range(ivf.nlist):
    n = lists.list_size(l)
    if n:
        ids.extend(faiss.rev_swig_ptr(lists.get_ids(l), n).tolist())
# fingerprints.bin: <q (int64 id) then <Q (uint64 fingerprint) per item, sorted by id (README)
fp = np.fromfile(os.path.join(vdir, 'fingerprints.bin'), dtype=np.dtype([('id', '<i8'), ('fingerprint', '<u8')]))
fp_ok = bool(np.all(np.diff(fp['id']) > 0)) and sorted(ids) == fp['id'].tolist()
print(json.dumps({'version': latest['version'], 'ntotal': index.ntotal, 'ids': len(ids), 'distinct': len(set(ids)), 'type': type(lists).__name__, 'fingerprintsMatchIds': fp_ok}), flush=True)
`;

async function buildOnce(dir: string, builderMemoryBytes: number) {
  const catalogue = path.join(dir, 'catalogue.jsonl');
  await writeCatalogue(catalogue, { items: 4000, format: 'jsonl' });
  const model = path.join(dir, 'model');
  await buildReferenceBundle(model);
  const config = path.join(dir, 'config.json');
  await writeFile(config, JSON.stringify({ index: { builderMemoryBytes, trainSampleSize: 4000 } }));
  const store = path.join(dir, 'store');
  const summary = await runBuild({ shardCount: 3, workers: 2, catalogue, model, store, config, indexFactory: 'IVF32,PQ16', dryRun: false, json: true }, silent);
  return { summary, store };
}

for (const [mode, budget] of [
  ['in memory', 1 << 30],
  ['on disk', 65_536],
] as const) {
  test(`a published index (${mode} merge) loads in Debian's python3-faiss through LATEST with every id once`, async (t) => {
    try {
      execFileSync('/usr/bin/python3', ['-c', 'import faiss'], { stdio: 'ignore' });
    } catch {
      t.skip('python3-faiss is not installed (scripts/setup.sh installs it)');
      return;
    }
    const dir = await mkdtemp(path.join(os.tmpdir(), 'reindex-contract-'));
    try {
      const { summary, store } = await buildOnce(dir, budget);
      const manifest = JSON.parse(await readFile(path.join(store, 'indexes/catalogue', summary.version, 'manifest.json'), 'utf8')) as {
        files: Array<{ path: string }>;
        ntotal: number;
      };
      assert.deepEqual(manifest.files.map((f) => f.path).sort(), [
        'fingerprints.bin',
        'index.faiss',
        ...(mode === 'on disk' ? ['index.ivfdata'] : []),
        'quality/queries.f32',
        'quality/queries.json',
        'quality/truth.bin',
      ]);
      const out = execFileSync('/usr/bin/python3', ['-c', pythonReader, store, 'catalogue'], { encoding: 'utf8' });
      // faiss's C++ side prints a line of its own on the on-disk path; the report is the JSON line.
      const seen = JSON.parse(
        out
          .split('\n')
          .filter((l) => l.startsWith('{'))
          .at(-1)!,
      ) as { version: string; ntotal: number; ids: number; distinct: number; type: string; fingerprintsMatchIds: boolean };
      assert.equal(seen.version, summary.version);
      assert.equal(seen.ntotal, summary.items);
      assert.equal(seen.ntotal, manifest.ntotal);
      assert.equal(seen.ids, summary.items, 'the inverted lists hold every item');
      assert.equal(seen.distinct, summary.items, '... each exactly once');
      assert.equal(seen.type, mode === 'on disk' ? 'OnDiskInvertedLists' : 'ArrayInvertedLists');
      assert.equal(seen.fingerprintsMatchIds, true, 'numpy reads fingerprints.bin: sorted, exactly the indexed ids');
      assert.equal(summary.items + summary.rejected, 4000);

      // Our own reader path (search) agrees on the same version.
      const s = openObjectStore(`file://${store}`);
      const hits = await searchIndex(s, { text: 'cotton shirt' }, { name: 'catalogue', k: 5 });
      await s.close();
      assert.equal(hits.length, 5);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
}
