import assert from 'node:assert/strict';
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { checkOverlay } from './check-overlay.js';
import { checkInvariants } from './invariants.js';
import { renderKustomization, type K8sObject } from './kustomize.js';
import { INFRA_DIR, overlayDir } from './paths.js';
import { validateObject } from './schemas.js';

/** Each case breaks one thing in the rendered production overlay; the checks must notice. */
let good: K8sObject[] = [];
const find = (objects: any[], kind: string, name: string) => objects.find((o) => o.kind === kind && o.metadata.name === name);
const problemsOf = (objects: K8sObject[]) => [...objects.flatMap(validateObject), ...checkInvariants(objects).problems];

const cases: Array<[string, (objects: any[]) => void, RegExp]> = [
  [
    'CronJob allows concurrent builds',
    (o) => {
      find(o, 'CronJob', 'reindex-coordinator').spec.concurrencyPolicy = 'Allow';
    },
    /concurrencyPolicy must be Forbid/,
  ],
  [
    'CronJob without timeZone',
    (o) => {
      delete find(o, 'CronJob', 'reindex-coordinator').spec.timeZone;
    },
    /timeZone must be set/,
  ],
  [
    'coordinator runs local workers',
    (o) => {
      find(o, 'CronJob', 'reindex-coordinator').spec.jobTemplate.spec.template.spec.containers[0].args = [
        '--config',
        '/etc/reindex/config.json',
        '--redis',
        '$(REDIS_URL)',
        '--workers',
        '2',
      ];
    },
    /--workers 0/,
  ],
  [
    'coordinator without the shared Redis',
    (o) => {
      const c = find(o, 'CronJob', 'reindex-coordinator').spec.jobTemplate.spec.template.spec.containers[0];
      c.args = c.args.filter((a: string, i: number, all: string[]) => a !== '--redis' && all[i - 1] !== '--redis');
    },
    /--redis \$\(VAR\)/,
  ],
  [
    'worker grace period too short',
    (o) => {
      find(o, 'Deployment', 'reindex-worker').spec.template.spec.terminationGracePeriodSeconds = 30;
    },
    /terminationGracePeriodSeconds must be >= 300/,
  ],
  [
    'GPU worker without a GPU',
    (o) => {
      delete find(o, 'Deployment', 'reindex-worker').spec.template.spec.containers[0].resources.limits['nvidia.com/gpu'];
    },
    /must request nvidia.com\/gpu/,
  ],
  [
    'KEDA watches the wrong list',
    (o) => {
      find(o, 'ScaledObject', 'reindex-worker').spec.triggers[0].metadata.listName = 'bull:reindex-shard:wait';
    },
    /no redis trigger on the shard queue's wait list reindex:reindex-shard:wait/,
  ],
  [
    'KEDA without the train queue (deadlock at zero replicas)',
    (o) => {
      const so = find(o, 'ScaledObject', 'reindex-worker');
      so.spec.triggers = so.spec.triggers.filter((t: any) => !t.metadata.listName.includes('train'));
    },
    /no trigger on reindex:reindex-train:wait/,
  ],
  [
    'KEDA plain TCP to a rediss:// Redis',
    (o) => {
      find(o, 'ScaledObject', 'reindex-worker').spec.triggers[2].metadata.enableTLS = 'false';
    },
    /enableTLS must be "true"/,
  ],
  [
    'TriggerAuthentication names a missing key',
    (o) => {
      find(o, 'TriggerAuthentication', 'reindex-redis').spec.secretTargetRef[1].key = 'REDIS_PASS';
    },
    /REDIS_PASS, which is not in the overlay/,
  ],
  [
    'liveness probe on a port the container does not expose',
    (o) => {
      find(o, 'Deployment', 'reindex-worker').spec.template.spec.containers[0].livenessProbe.httpGet.port = 9000;
    },
    /livenessProbe port 9000 is not a port/,
  ],
  [
    'dashboard Service targets a missing port',
    (o) => {
      find(o, 'Service', 'reindex-dashboard').spec.ports[0].targetPort = 'web';
    },
    /targetPort "web" is not exposed/,
  ],
  [
    'env references a missing Secret',
    (o) => {
      find(o, 'Deployment', 'reindex-dashboard').spec.template.spec.containers[0].env[1].valueFrom.secretKeyRef.name = 'dashboard-token';
    },
    /references Secret dashboard-token, which is not in the overlay/,
  ],
  [
    'ConfigMap missing',
    (o) => {
      o.splice(o.indexOf(find(o, 'ConfigMap', 'reindex-config')), 1);
    },
    /references ConfigMap reindex-config/,
  ],
  [
    'a real-looking secret value',
    (o) => {
      find(o, 'Secret', 'reindex-dashboard').data.REINDEX_DASHBOARD_TOKEN = Buffer.from('s3cr3t-t0ken-value').toString('base64');
    },
    /holds a literal value/,
  ],
  [
    'a password inside a ConfigMap URL',
    (o) => {
      const cm = find(o, 'ConfigMap', 'reindex-config');
      cm.data['config.json'] = cm.data['config.json'].replace('s3://example-reindex-artifacts/reindex', 's3://user:hunter2@bucket/x');
    },
    /credentials in a URL/,
  ],
  [
    'config.json the CLI would reject',
    (o) => {
      const cm = find(o, 'ConfigMap', 'reindex-config');
      cm.data['config.json'] = cm.data['config.json'].replace('"shardCount": 64', '"shardCount": 0');
    },
    /shardCount: must be a positive integer/,
  ],
  [
    'misspelt field (schema knows no livenesProbe)',
    (o) => {
      const c = find(o, 'Deployment', 'reindex-worker').spec.template.spec.containers[0];
      c.livenesProbe = c.livenessProbe;
      delete c.livenessProbe;
    },
    /livenesProbe: unknown field/,
  ],
  [
    'wrong type (schema)',
    (o) => {
      find(o, 'Deployment', 'reindex-dashboard').spec.replicas = 'two';
    },
    /replicas must be integer/,
  ],
  [
    'KEDA ScaledObject without a target (CRD schema)',
    (o) => {
      delete find(o, 'ScaledObject', 'reindex-worker').spec.scaleTargetRef;
    },
    /must have required property scaleTargetRef/,
  ],
  [
    'untagged image',
    (o) => {
      find(o, 'Deployment', 'reindex-dashboard').spec.template.spec.containers[0].image = 'reindex-cpu';
    },
    /must carry a version tag/,
  ],
  [
    'literal secret in env',
    (o) => {
      find(o, 'Deployment', 'reindex-dashboard').spec.template.spec.containers[0].env.push({ name: 'AWS_SECRET_ACCESS_KEY', value: 'abc' });
    },
    /has a literal value/,
  ],
  [
    'unknown kind',
    (o) => {
      o.push({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'x', namespace: 'reindex' } });
    },
    /no schema for v1 Pod/,
  ],
];

describe('broken manifests are rejected', () => {
  before(async () => {
    good = await renderKustomization(overlayDir('production'));
  });

  test('the unbroken overlay passes (so the failures below are caused by the breakage)', () => {
    assert.deepEqual(problemsOf(good), []);
  });

  for (const [name, breakIt, expected] of cases) {
    test(name, () => {
      const objects = structuredClone(good);
      breakIt(objects);
      const problems = problemsOf(objects);
      assert.ok(
        problems.some((problem) => expected.test(problem)),
        `expected a problem matching ${expected}, got:\n  ${problems.join('\n  ')}`,
      );
    });
  }

  test('a broken overlay on disk fails end to end (render + checks)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'infra-check-'));
    try {
      await cp(join(INFRA_DIR, 'k8s'), join(dir, 'k8s'), { recursive: true });
      await writeFile(
        join(dir, 'k8s/overlays/dev/patches/scaledobject.yaml'),
        'apiVersion: keda.sh/v1alpha1\nkind: ScaledObject\nmetadata:\n  name: reindex-worker\nspec:\n  minReplicaCount: 2\n  maxReplicaCount: "many"\n',
      );
      const report = await checkOverlay(join(dir, 'k8s/overlays/dev'));
      assert.ok(
        report.problems.some((p) => /maxReplicaCount must be integer/.test(p)),
        report.problems.join('\n'),
      );
      assert.ok(
        report.problems.some((p) => /minReplicaCount must be 0/.test(p)),
        report.problems.join('\n'),
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('a kustomization field this renderer does not implement is refused, not ignored', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'infra-check-'));
    try {
      await cp(join(INFRA_DIR, 'k8s'), join(dir, 'k8s'), { recursive: true });
      await writeFile(join(dir, 'k8s/overlays/dev/kustomization.yaml'), 'resources:\n  - ../../base\nreplicas:\n  - name: reindex-dashboard\n    count: 2\n');
      await assert.rejects(checkOverlay(join(dir, 'k8s/overlays/dev')), /unsupported kustomization field\(s\) replicas/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
