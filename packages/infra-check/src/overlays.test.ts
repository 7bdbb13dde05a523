import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { loadConfig, validateConfig } from '@reindex/core';
import { checkOverlay } from './check-overlay.js';
import { SHARD_WAIT_LIST } from './invariants.js';
import type { K8sObject } from './kustomize.js';
import { isObject } from './patch.js';
import { OVERLAYS, overlayDir } from './paths.js';

const get = (objects: K8sObject[], kind: string, name: string) => objects.find((o) => o.kind === kind && o.metadata.name === name);
const workerContainer = (objects: K8sObject[]) => (get(objects, 'Deployment', 'reindex-worker') as any).spec.template.spec.containers[0];

describe('rendered overlays', () => {
  for (const overlay of OVERLAYS) {
    test(`${overlay}: every object matches its schema and every invariant holds`, async () => {
      const report = await checkOverlay(overlayDir(overlay));
      assert.deepEqual(report.problems, []);
      const kinds = new Set(report.objects.map((o) => o.kind));
      for (const kind of ['Namespace', 'ConfigMap', 'Secret', 'CronJob', 'Deployment', 'Service', 'ScaledObject', 'TriggerAuthentication'])
        assert.ok(kinds.has(kind), `${overlay} has a ${kind}`);
    });

    test(`${overlay}: config.json loads with @reindex/core as the CLI would load it`, async () => {
      const { objects } = await checkOverlay(overlayDir(overlay));
      const text = (get(objects, 'ConfigMap', 'reindex-config')!.data as Record<string, string>)['config.json'] as string;
      const raw = JSON.parse(text) as unknown;
      const validated = validateConfig(raw, `${overlay} config.json`);
      assert.equal(validated.workers, 0);
      const dir = await mkdtemp(join(tmpdir(), 'infra-check-'));
      try {
        await writeFile(join(dir, 'config.json'), text);
        const loaded = await loadConfig(join(dir, 'config.json'), { workers: 0 });
        assert.match(loaded.store.url, /^s3:\/\//);
        assert.equal(loaded.s3.forcePathStyle, overlay === 'dev');
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });
  }

  test('dev: CPU workers, in-cluster Redis, static S3 keys', async () => {
    const { objects, optionalMissing } = await checkOverlay(overlayDir('dev'));
    assert.deepEqual(workerContainer(objects).args, ['--concurrency', '1', '--device', 'cpu']);
    assert.ok(get(objects, 'StatefulSet', 'redis'));
    assert.ok(get(objects, 'Secret', 'reindex-s3'));
    assert.deepEqual(optionalMissing, []);
  });

  test('production: GPU workers, no in-cluster Redis, IRSA instead of static keys, TLS to Redis', async () => {
    const { objects, optionalMissing } = await checkOverlay(overlayDir('production'));
    const worker = workerContainer(objects);
    assert.deepEqual(worker.args, ['--concurrency', '1', '--device', 'cuda']);
    assert.equal(String(worker.resources.limits['nvidia.com/gpu']), '1');
    assert.match(worker.image, /reindex-gpu:/);
    assert.equal(get(objects, 'StatefulSet', 'redis'), undefined);
    assert.equal(get(objects, 'Service', 'redis'), undefined);
    assert.deepEqual(optionalMissing, ['Secret/reindex-s3']);
    const annotations = get(objects, 'ServiceAccount', 'reindex')?.metadata.annotations;
    assert.ok(isObject(annotations) && typeof annotations['eks.amazonaws.com/role-arn'] === 'string', 'IRSA role annotation');
    const triggers = (get(objects, 'ScaledObject', 'reindex-worker') as any).spec.triggers as Array<{ metadata: Record<string, string> }>;
    assert.ok(triggers.some((t) => t.metadata.listName === SHARD_WAIT_LIST));
    assert.ok(triggers.every((t) => t.metadata.enableTLS === 'true'));
  });

  test('the shard wait list is the BullMQ key of @reindex/queue', () => {
    assert.equal(SHARD_WAIT_LIST, 'reindex:reindex-shard:wait');
  });
});
