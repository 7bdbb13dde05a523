import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { indexVersionPrefix, latestKey, manifestKey, openObjectStore } from '@reindex/core';
import { applyRetention, listVersions } from './versions.js';

test('retention keeps the newest published versions and LATEST; gated versions never push a published one out', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'reindex-retention-'));
  const store = openObjectStore(`file://${dir}`);
  try {
    const put = (key: string) => store.put(key, Buffer.from('{}'));
    // v1..v6 oldest to newest; v2 and v6 were gated (no manifest); LATEST is v3 (rolled back).
    for (const v of ['v1', 'v2', 'v3', 'v4', 'v5', 'v6']) await put(`${indexVersionPrefix('cat', v)}index.faiss`);
    for (const v of ['v1', 'v3', 'v4', 'v5']) await put(manifestKey('cat', v));
    await store.put(latestKey('cat'), Buffer.from(JSON.stringify({ version: 'v1', manifest: manifestKey('cat', 'v1'), updatedAt: new Date().toISOString() })));
    const deleted = await applyRetention(store, 'cat', 2);
    // Published, newest first: v5, v4 kept; v3 deleted; v1 kept as LATEST. Gated: v6, v2 kept (2 of them).
    assert.deepEqual(deleted, ['v3']);
    assert.deepEqual(await listVersions(store, 'cat'), ['v6', 'v5', 'v4', 'v2', 'v1']);
    assert.deepEqual(await applyRetention(store, 'cat', 1), ['v4', 'v2']);
    assert.deepEqual(await listVersions(store, 'cat'), ['v6', 'v5', 'v1']);
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
});
