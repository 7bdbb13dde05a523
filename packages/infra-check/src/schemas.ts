import { TriggerAuthentication, ScaledObject } from '@kubernetes-models/keda/keda.sh/v1alpha1';
import { Deployment, StatefulSet } from 'kubernetes-models/apps/v1';
import { CronJob } from 'kubernetes-models/batch/v1';
import { ConfigMap, Namespace, Secret, Service, ServiceAccount } from 'kubernetes-models/v1';
import { isObject } from './patch.js';
import type { K8sObject } from './kustomize.js';

/**
 * Schema validation of rendered objects, offline. Kubernetes kinds use the OpenAPI schemas
 * compiled into `kubernetes-models`; KEDA's ScaledObject and TriggerAuthentication use the
 * CRD schemas compiled into `@kubernetes-models/keda`.
 *
 * Those validators accept unknown fields (the OpenAPI schemas do not close objects), so a
 * misspelt `livenesProbe` would pass. We also report every field the validator never looked at:
 * the compiled validators read each property their schema declares, so a property nobody read
 * is one the schema does not know. Objects the validator enumerates (maps such as labels,
 * resource quantities or KEDA trigger metadata) are free-form and skipped.
 */
interface ModelClass {
  // biome-ignore lint/suspicious/noExplicitAny: each model takes its own data type
  new (data: any): { validate(): void };
  prototype: { validate(): void };
}

const MODELS: Readonly<Record<string, ModelClass>> = {
  'v1/Namespace': Namespace,
  'v1/ServiceAccount': ServiceAccount,
  'v1/ConfigMap': ConfigMap,
  'v1/Secret': Secret,
  'v1/Service': Service,
  'apps/v1/Deployment': Deployment,
  'apps/v1/StatefulSet': StatefulSet,
  'batch/v1/CronJob': CronJob,
  'keda.sh/v1alpha1/ScaledObject': ScaledObject,
  'keda.sh/v1alpha1/TriggerAuthentication': TriggerAuthentication,
};

/** The kinds we can check; rendering anything else is a failure, not a skip. */
export const VALIDATED_KINDS = Object.freeze(Object.keys(MODELS));

/** Problems of one object against its schema; empty when it is valid. */
export function validateObject(object: K8sObject): string[] {
  const id = `${object.kind} ${object.metadata.namespace ?? ''}/${object.metadata.name}`;
  const Model = MODELS[`${object.apiVersion}/${object.kind}`];
  if (Model === undefined) return [`${id}: no schema for ${object.apiVersion} ${object.kind} (known: ${VALIDATED_KINDS.join(', ')})`];
  const model = new Model(object);
  const tracker = trackReads(model);
  const problems: string[] = [];
  try {
    Model.prototype.validate.call(tracker.proxy);
  } catch (error) {
    problems.push(`${id}: ${(error as Error).message}`);
  }
  for (const path of tracker.unread()) problems.push(`${id}: ${path}: unknown field`);
  return problems;
}

function trackReads(root: object): { proxy: object; unread: () => string[] } {
  const read = new Set<string>();
  const enumerated = new Set<string>();
  const wrap = (value: unknown, path: string): unknown => {
    if (value === null || typeof value !== 'object') return value;
    return new Proxy(value, {
      get(target, key, receiver) {
        const child = Reflect.get(target, key, receiver) as unknown;
        if (typeof key !== 'string' || !Object.hasOwn(target, key)) return child;
        read.add(`${path}/${key}`);
        return wrap(child, `${path}/${key}`);
      },
      has(target, key) {
        if (typeof key === 'string') read.add(`${path}/${key}`);
        return Reflect.has(target, key);
      },
      ownKeys(target) {
        enumerated.add(path);
        return Reflect.ownKeys(target);
      },
    });
  };
  const unread = (): string[] => {
    const out: string[] = [];
    const walk = (value: unknown, path: string): void => {
      if (value === null || typeof value !== 'object' || enumerated.has(path)) return;
      for (const [key, child] of Object.entries(value)) {
        const childPath = `${path}/${key}`;
        if (!Array.isArray(value) && !read.has(childPath)) out.push(childPath);
        else walk(child, childPath);
      }
    };
    walk(root, '');
    return out;
  };
  return { proxy: wrap(root, '') as object, unread };
}

/** Whether `value` is a plain mapping (re-exported for checks that walk objects). */
export { isObject };
