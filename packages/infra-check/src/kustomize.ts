import { readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { applyJsonPatch, isObject, strategicMerge, type Json, type JsonObject, type JsonPatchOperation } from './patch.js';

/** A rendered Kubernetes object. */
export interface K8sObject extends JsonObject {
  apiVersion: string;
  kind: string;
  metadata: JsonObject & { name: string; namespace?: string };
}

/**
 * The kustomization fields this renderer implements, in the order kustomize applies them.
 * Any other field fails the render: a field silently ignored here would let the rendered
 * output (and so every check on it) differ from what `kubectl apply -k` deploys.
 */
export const SUPPORTED_FIELDS = [
  'apiVersion',
  'kind',
  'resources',
  'configMapGenerator',
  'secretGenerator',
  'generatorOptions',
  'patches',
  'namespace',
  'labels',
  'images',
] as const;

/** Kinds without a namespace among those we use. */
const CLUSTER_SCOPED = new Set(['Namespace']);

/** `kind/namespace/name`: how objects are told apart. */
export function objectId(object: { kind: string; metadata: { name: string; namespace?: string | undefined } }): string {
  return `${object.kind}/${object.metadata.namespace ?? ''}/${object.metadata.name}`;
}

/** Parses a multi-document YAML text into objects; a YAML error names the file. */
export function parseYamlDocuments(text: string, source: string): Json[] {
  const out: Json[] = [];
  for (const document of parseAllDocuments(text)) {
    if (document.errors.length > 0) throw new Error(`${source}: ${document.errors.map((error) => error.message).join('; ')}`);
    const value = document.toJS() as Json;
    if (value !== null && value !== undefined) out.push(value);
  }
  return out;
}

/** Renders the kustomization in `dir` (resources, generators, patches, namespace, labels, images). */
export async function renderKustomization(dir: string): Promise<K8sObject[]> {
  const root = resolve(dir);
  const kustomizationPath = join(root, 'kustomization.yaml');
  const [kustomization] = parseYamlDocuments(await readFile(kustomizationPath, 'utf8'), kustomizationPath);
  if (!isObject(kustomization)) throw new Error(`${kustomizationPath}: not a mapping`);
  const unsupported = Object.keys(kustomization).filter((key) => !(SUPPORTED_FIELDS as readonly string[]).includes(key));
  if (unsupported.length > 0)
    throw new Error(`${kustomizationPath}: unsupported kustomization field(s) ${unsupported.join(', ')} (implemented: ${SUPPORTED_FIELDS.join(', ')})`);
  const where = (what: string) => `${kustomizationPath}: ${what}`;

  // 1. Resources: files, or directories holding a kustomization (rendered recursively).
  let objects: K8sObject[] = [];
  for (const entry of asList(kustomization.resources, where('resources'))) {
    const path = resolve(root, String(entry));
    if ((await stat(path)).isDirectory()) {
      objects.push(...(await renderKustomization(path)));
    } else {
      const parsed = parseYamlDocuments(await readFile(path, 'utf8'), path).map((value) => asObject(value, path));
      objects.push(...parsed);
    }
  }

  // 2. Generators.
  const options = kustomization.generatorOptions;
  if (options !== undefined && (!isObject(options) || options.disableNameSuffixHash !== true || Object.keys(options).length !== 1)) {
    throw new Error(where('generatorOptions must be exactly { disableNameSuffixHash: true } (name hashes are not implemented)'));
  }
  if ((kustomization.configMapGenerator !== undefined || kustomization.secretGenerator !== undefined) && options === undefined) {
    throw new Error(where('generators need generatorOptions.disableNameSuffixHash: true (name hashes are not implemented)'));
  }
  for (const [field, kind] of [
    ['configMapGenerator', 'ConfigMap'],
    ['secretGenerator', 'Secret'],
  ] as const) {
    for (const spec of asList(kustomization[field], where(field))) {
      if (!isObject(spec)) throw new Error(where(`${field} entries must be mappings`));
      const generated = await generate(kind, spec, root, where(field));
      const behavior = spec.behavior ?? 'create';
      const index = objects.findIndex((object) => object.kind === kind && object.metadata.name === generated.metadata.name);
      if (behavior === 'create') {
        if (index >= 0) throw new Error(where(`${kind} ${generated.metadata.name} already exists (use behavior: replace or merge)`));
        objects.push(generated);
      } else if (behavior === 'replace' || behavior === 'merge') {
        const existing = objects[index];
        if (existing === undefined) throw new Error(where(`${kind} ${generated.metadata.name}: behavior ${behavior} but no such object in the bases`));
        const data = behavior === 'merge' ? { ...(existing.data as JsonObject), ...(generated.data as JsonObject) } : generated.data;
        objects[index] = {
          ...existing,
          data: data as Json,
          metadata: { ...existing.metadata, labels: { ...(existing.metadata.labels as JsonObject), ...(generated.metadata.labels as JsonObject) } },
        } as K8sObject;
      } else {
        throw new Error(where(`${field} behavior ${JSON.stringify(behavior)} is not supported`));
      }
    }
  }

  // 3. Patches: a file or inline patch; with `target` it is an RFC 6902 list, else strategic merge.
  for (const patch of asList(kustomization.patches, where('patches'))) {
    if (!isObject(patch)) throw new Error(where('patches entries must be mappings'));
    const extra = Object.keys(patch).filter((key) => !['path', 'patch', 'target'].includes(key));
    if (extra.length > 0) throw new Error(where(`patch fields ${extra.join(', ')} are not supported`));
    const source = typeof patch.path === 'string' ? resolve(root, patch.path) : where('inline patch');
    const text = typeof patch.path === 'string' ? await readFile(source, 'utf8') : typeof patch.patch === 'string' ? patch.patch : undefined;
    if (text === undefined) throw new Error(where('a patch needs path or patch'));
    if (patch.target !== undefined) {
      const target = patch.target;
      if (!isObject(target) || typeof target.kind !== 'string' || typeof target.name !== 'string') throw new Error(`${source}: target needs kind and name`);
      const [operations] = parseYamlDocuments(text, source);
      if (!Array.isArray(operations)) throw new Error(`${source}: a targeted patch must be an RFC 6902 operation list`);
      const index = findTarget(objects, target.kind, target.name, source);
      objects[index] = asObject(applyJsonPatch(objects[index] as K8sObject, operations as unknown as JsonPatchOperation[]), source);
      continue;
    }
    for (const document of parseYamlDocuments(text, source)) {
      const body = asObject(document, source);
      const index = findTarget(objects, body.kind, body.metadata.name, source);
      if (body.$patch === 'delete') objects.splice(index, 1);
      else objects[index] = asObject(strategicMerge(objects[index] as K8sObject, body), source);
    }
  }

  // 4. Transformers over everything accumulated at this level.
  if (kustomization.namespace !== undefined) {
    const namespace = String(kustomization.namespace);
    objects = objects.map((object) => (CLUSTER_SCOPED.has(object.kind) ? object : { ...object, metadata: { ...object.metadata, namespace } }));
  }
  for (const spec of asList(kustomization.labels, where('labels'))) {
    if (!isObject(spec) || !isObject(spec.pairs)) throw new Error(where('labels entries need pairs'));
    if (spec.includeSelectors === true || spec.includeTemplates === true)
      throw new Error(where('labels: includeSelectors/includeTemplates are not implemented'));
    const pairs = spec.pairs;
    objects = objects.map((object) => ({ ...object, metadata: { ...object.metadata, labels: { ...(object.metadata.labels as JsonObject), ...pairs } } }));
  }
  for (const image of asList(kustomization.images, where('images'))) {
    if (!isObject(image) || typeof image.name !== 'string') throw new Error(where('images entries need name'));
    objects = objects.map((object) => setImages(object, image));
  }
  return objects;
}

async function generate(kind: 'ConfigMap' | 'Secret', spec: JsonObject, root: string, where: string): Promise<K8sObject> {
  const extra = Object.keys(spec).filter((key) => !['name', 'behavior', 'files', 'envs', 'literals', 'type'].includes(key));
  if (extra.length > 0 || typeof spec.name !== 'string')
    throw new Error(`${where}: ${String(spec.name)}: needs a name; fields ${extra.join(', ')} are not supported`);
  const data: Record<string, string> = {};
  const put = (key: string, value: string) => {
    if (key in data) throw new Error(`${where}: ${spec.name}: key ${key} given twice`);
    data[key] = value;
  };
  for (const entry of asList(spec.files, where)) {
    const [key, file] = String(entry).includes('=') ? String(entry).split('=', 2) : [String(entry).split('/').pop(), String(entry)];
    put(key as string, await readFile(resolve(root, file as string), 'utf8'));
  }
  for (const entry of asList(spec.envs, where)) {
    for (const [key, value] of parseEnvFile(await readFile(resolve(root, String(entry)), 'utf8'))) put(key, value);
  }
  for (const entry of asList(spec.literals, where)) {
    const text = String(entry);
    const at = text.indexOf('=');
    put(text.slice(0, at), text.slice(at + 1));
  }
  const metadata = { name: spec.name };
  if (kind === 'ConfigMap') return { apiVersion: 'v1', kind, metadata, data };
  const encoded = Object.fromEntries(Object.entries(data).map(([key, value]) => [key, Buffer.from(value).toString('base64')]));
  return { apiVersion: 'v1', kind, metadata, type: typeof spec.type === 'string' ? spec.type : 'Opaque', data: encoded };
}

/** `KEY=VALUE` lines; `#` comments and blank lines skipped; the value is taken verbatim. */
export function parseEnvFile(text: string): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const line of text.split('\n')) {
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    const at = trimmed.indexOf('=');
    if (at <= 0) throw new Error(`env file line without KEY=: ${JSON.stringify(trimmed)}`);
    out.push([trimmed.slice(0, at), trimmed.slice(at + 1)]);
  }
  return out;
}

function setImages(object: K8sObject, image: JsonObject): K8sObject {
  const visit = (value: Json, key?: string): Json => {
    if (Array.isArray(value)) {
      return value.map((item) =>
        (key === 'containers' || key === 'initContainers') && isObject(item) && typeof item.image === 'string'
          ? { ...item, image: retag(item.image, image) }
          : visit(item),
      );
    }
    if (!isObject(value)) return value;
    return Object.fromEntries(Object.entries(value).map(([childKey, child]) => [childKey, visit(child, childKey)]));
  };
  return visit(object) as K8sObject;
}

function retag(reference: string, image: JsonObject): string {
  const match = /^([^@]+?)(?::([^:/@]+))?(?:@(.+))?$/.exec(reference);
  const current = match?.[1];
  if (match === null || current === undefined || current !== image.name) return reference;
  const name = typeof image.newName === 'string' ? image.newName : current;
  if (typeof image.digest === 'string') return `${name}@${image.digest}`;
  const tag = typeof image.newTag === 'string' ? image.newTag : match[2];
  return tag === undefined ? name : `${name}:${tag}`;
}

function findTarget(objects: K8sObject[], kind: unknown, name: unknown, source: string): number {
  const matches = objects.flatMap((object, index) => (object.kind === kind && object.metadata.name === name ? [index] : []));
  if (matches.length !== 1) throw new Error(`${source}: patch target ${String(kind)}/${String(name)} matches ${matches.length} objects, expected exactly 1`);
  return matches[0] as number;
}

function asList(value: Json | undefined, where: string): Json[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new Error(`${where} must be a list`);
  return value;
}

function asObject(value: Json, source: string): K8sObject {
  if (
    !isObject(value) ||
    typeof value.kind !== 'string' ||
    typeof value.apiVersion !== 'string' ||
    !isObject(value.metadata) ||
    typeof value.metadata.name !== 'string'
  ) {
    throw new Error(`${source}: every document needs apiVersion, kind and metadata.name`);
  }
  return value as K8sObject;
}
