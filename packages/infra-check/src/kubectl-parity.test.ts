import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, test } from 'node:test';
import { objectId, parseYamlDocuments, renderKustomization, type K8sObject } from './kustomize.js';
import { OVERLAYS, overlayDir } from './paths.js';

/**
 * Our renderer implements a subset of kustomize; where the real one is installed
 * (`kubectl kustomize`, kustomize v5 built in), both must produce the same objects. Without
 * kubectl the comparison is skipped and says so: the other tests still check our rendering.
 */
const kubectl = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' });
const skip = kubectl.status === 0 ? false : 'kubectl not installed: comparison with real kustomize skipped';

/** Secret data compared decoded: kustomize folds long base64 lines, which is the same data. */
function decoded(object: K8sObject): K8sObject {
  if (object.kind !== 'Secret' || typeof object.data !== 'object' || object.data === null) return object;
  const data = Object.fromEntries(Object.entries(object.data).map(([key, value]) => [key, Buffer.from(String(value), 'base64').toString()]));
  return { ...object, data };
}

describe('renderer matches kubectl kustomize', () => {
  for (const overlay of OVERLAYS) {
    test(overlay, { skip }, async () => {
      const result = spawnSync('kubectl', ['kustomize', overlayDir(overlay)], { encoding: 'utf8', timeout: 20_000 });
      assert.equal(result.status, 0, result.stderr);
      const theirs = new Map((parseYamlDocuments(result.stdout, 'kubectl kustomize') as K8sObject[]).map((o) => [objectId(o), o]));
      const ours = new Map((await renderKustomization(overlayDir(overlay))).map((o) => [objectId(o), o]));
      assert.deepEqual([...ours.keys()].sort(), [...theirs.keys()].sort());
      for (const [id, object] of ours) assert.deepEqual(decoded(object), decoded(theirs.get(id) as K8sObject), id);
    });
  }
});
