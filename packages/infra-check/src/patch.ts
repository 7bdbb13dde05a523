/**
 * The two patch languages kustomize applies, limited to what infra/k8s uses; anything else is
 * refused loudly rather than half-applied.
 *
 * Strategic merge: maps merge recursively, `null` deletes a key, `$patch: delete` on a whole
 * document deletes the object, lists of the keys Kubernetes declares as merge keys (containers
 * by `name`, container ports by `containerPort`, ...) merge element-wise, every other list is
 * replaced.
 */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

/** patchMergeKey of the lists used in our manifests (from the Kubernetes API types). */
const MERGE_KEYS: Readonly<Record<string, string>> = {
  containers: 'name',
  initContainers: 'name',
  env: 'name',
  volumes: 'name',
  volumeMounts: 'mountPath',
  imagePullSecrets: 'name',
  // Container ports merge by containerPort, Service ports by port.
  'containers[].ports': 'containerPort',
  'spec.ports': 'port',
};

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function strategicMerge(base: Json, patch: Json, path = ''): Json {
  if (!isObject(base) || !isObject(patch)) return structuredClone(patch);
  if (patch.$patch !== undefined && patch.$patch !== 'merge') {
    throw new Error(`strategic merge: $patch: ${JSON.stringify(patch.$patch)} at ${path || '(root)'} is not supported here`);
  }
  const out: JsonObject = structuredClone(base);
  for (const [key, value] of Object.entries(patch)) {
    if (key === '$patch') continue;
    if (key.startsWith('$')) throw new Error(`strategic merge: directive ${key} at ${path} is not supported`);
    const childPath = path === '' ? key : `${path}.${key}`;
    if (value === null) {
      delete out[key];
    } else if (Array.isArray(value) && Array.isArray(out[key])) {
      const mergeKey = mergeKeyFor(key, path);
      out[key] = mergeKey === undefined ? structuredClone(value) : mergeList(out[key] as Json[], value, mergeKey, childPath);
    } else if (isObject(value) && isObject(out[key])) {
      out[key] = strategicMerge(out[key] as Json, value, childPath);
    } else {
      out[key] = structuredClone(value);
    }
  }
  return out;
}

function mergeKeyFor(key: string, parentPath: string): string | undefined {
  if (key === 'ports')
    return /(?:^|\.)(?:containers|initContainers)\[\]$/.test(parentPath)
      ? MERGE_KEYS['containers[].ports']
      : parentPath === 'spec'
        ? MERGE_KEYS['spec.ports']
        : undefined;
  return MERGE_KEYS[key];
}

function mergeList(base: Json[], patch: Json[], mergeKey: string, path: string): Json[] {
  const out = structuredClone(base);
  for (const item of patch) {
    if (!isObject(item) || item[mergeKey] === undefined) throw new Error(`strategic merge: ${path}: every element needs its merge key "${mergeKey}"`);
    const index = out.findIndex((existing) => isObject(existing) && existing[mergeKey] === item[mergeKey]);
    if (item.$patch === 'delete') {
      if (index >= 0) out.splice(index, 1);
    } else if (index >= 0) {
      out[index] = strategicMerge(out[index] as Json, item, `${path}[]`);
    } else {
      out.push(structuredClone(item));
    }
  }
  return out;
}

/** One RFC 6902 operation; infra/k8s uses add, replace and remove. */
export interface JsonPatchOperation {
  op: 'add' | 'replace' | 'remove';
  path: string;
  value?: Json;
}

export function applyJsonPatch(document: Json, operations: readonly JsonPatchOperation[]): Json {
  const out = structuredClone(document);
  for (const operation of operations) {
    if (!['add', 'replace', 'remove'].includes(operation.op)) throw new Error(`JSON patch: op ${JSON.stringify(operation.op)} is not supported`);
    const tokens = operation.path
      .split('/')
      .slice(1)
      .map((token) => token.replace(/~1/g, '/').replace(/~0/g, '~'));
    if (operation.path[0] !== '/' || tokens.length === 0) throw new Error(`JSON patch: bad path ${JSON.stringify(operation.path)}`);
    const last = tokens.pop() as string;
    let parent: Json = out;
    for (const token of tokens) {
      const next: Json | undefined = Array.isArray(parent) ? parent[Number(token)] : isObject(parent) ? parent[token] : undefined;
      if (next === undefined) throw new Error(`JSON patch: ${operation.op} ${operation.path}: ${token} does not exist`);
      parent = next;
    }
    if (Array.isArray(parent)) {
      const index = last === '-' ? parent.length : Number(last);
      if (!Number.isInteger(index) || index < 0 || index > parent.length || (operation.op !== 'add' && index >= parent.length)) {
        throw new Error(`JSON patch: ${operation.op} ${operation.path}: index out of range`);
      }
      if (operation.op === 'remove') parent.splice(index, 1);
      else if (operation.op === 'add') parent.splice(index, 0, structuredClone(operation.value as Json));
      else parent[index] = structuredClone(operation.value as Json);
    } else if (isObject(parent)) {
      if (operation.op !== 'add' && !(last in parent)) throw new Error(`JSON patch: ${operation.op} ${operation.path}: ${last} does not exist`);
      if (operation.op === 'remove') delete parent[last];
      else parent[last] = structuredClone(operation.value as Json);
    } else {
      throw new Error(`JSON patch: ${operation.op} ${operation.path}: parent is not a container`);
    }
  }
  return out;
}
