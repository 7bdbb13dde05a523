import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { INFRA_DIR } from './paths.js';

/** infra/docker/link-bins.mjs puts the programs the manifests run on the image's PATH. */
const script = join(INFRA_DIR, 'docker/link-bins.mjs');
let dir = '';

async function fakePackage(name: string, bin: Record<string, string>, files: string[]): Promise<void> {
  const pkg = join(dir, 'packages', name);
  await mkdir(join(pkg, 'dist'), { recursive: true });
  await writeFile(join(pkg, 'package.json'), JSON.stringify({ name: `@reindex/${name}`, bin }));
  for (const file of files) await writeFile(join(pkg, file), 'console.log(JSON.stringify(process.argv.slice(2)));\n');
}

describe('link-bins.mjs', () => {
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'infra-check-bins-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('writes wrappers that exec the declared file with the arguments', async () => {
    await fakePackage('worker', { 'reindex-worker': './dist/bin.js' }, ['dist/bin.js']);
    const run = spawnSync(process.execPath, [script, dir, join(dir, 'bin'), 'reindex-worker'], { encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
    const wrapper = spawnSync(join(dir, 'bin/reindex-worker'), ['--device', 'cuda'], { encoding: 'utf8' });
    assert.equal(wrapper.stdout.trim(), '["--device","cuda"]');
  });

  test('fails when a required program is not declared or not built', async () => {
    await fakePackage('worker', { 'reindex-worker': './dist/bin.js' }, []);
    const run = spawnSync(process.execPath, [script, dir, join(dir, 'bin'), 'reindex-worker', 'reindex-dashboard'], { encoding: 'utf8' });
    assert.equal(run.status, 1);
    assert.match(run.stderr, /reindex-worker: @reindex\/worker declares .*dist\/bin.js, which does not exist/);
    assert.match(run.stderr, /reindex-dashboard: no package/);
  });
});
