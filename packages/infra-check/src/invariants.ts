import { validateConfig } from '@reindex/core';
import { DEFAULT_QUEUE_PREFIX, QUEUE_NAMES } from '@reindex/queue';
import { isObject, type Json, type JsonObject } from './patch.js';
import type { K8sObject } from './kustomize.js';

/** The marker every secret value in this repository carries: templates, never real secrets. */
export const PLACEHOLDER = 'CHANGE_ME';

/** Minimum worker grace period: time to finish (or hand back) a shard job after SIGTERM. */
export const MIN_WORKER_GRACE_SECONDS = 300;

/** The BullMQ list the autoscaler must watch: `<prefix>:<queue>:wait` of the shard queue. */
export const SHARD_WAIT_LIST = `${DEFAULT_QUEUE_PREFIX}:${QUEUE_NAMES.shard}:wait`;

export interface InvariantReport {
  problems: string[];
  /** `Kind/name` of optional references with no object (allowed; e.g. reindex-s3 under IRSA). */
  optionalMissing: string[];
}

interface PodSite {
  owner: K8sObject;
  where: string;
  template: JsonObject;
  spec: JsonObject;
}

const SECRET_KEY_PATTERN = /PASSWORD|SECRET|TOKEN|KEY|URL|CREDENTIAL/i;

/** Cross-object checks on one rendered overlay: what schemas alone cannot see. */
export function checkInvariants(objects: readonly K8sObject[]): InvariantReport {
  const problems: string[] = [];
  const optionalMissing = new Set<string>();
  const find = (kind: string, namespace: string | undefined, name: string) =>
    objects.find((object) => object.kind === kind && object.metadata.name === name && (object.metadata.namespace ?? undefined) === namespace);

  // Identity: unique ids, every namespaced object in a namespace the overlay creates.
  const ids = new Set<string>();
  const namespaces = new Set(objects.filter((object) => object.kind === 'Namespace').map((object) => object.metadata.name));
  for (const object of objects) {
    const id = `${object.kind}/${object.metadata.namespace ?? ''}/${object.metadata.name}`;
    if (ids.has(id)) problems.push(`${id}: defined twice`);
    ids.add(id);
    if (object.kind !== 'Namespace' && (object.metadata.namespace === undefined || !namespaces.has(object.metadata.namespace))) {
      problems.push(`${object.kind} ${object.metadata.name}: namespace ${JSON.stringify(object.metadata.namespace)} is not created by this overlay`);
    }
  }

  const pods = podSites(objects);
  for (const { owner, where, template, spec } of pods) {
    const namespace = owner.metadata.namespace;
    const requireRef = (kind: 'Secret' | 'ConfigMap', name: unknown, key: unknown, optional: unknown, what: string) => {
      const target = typeof name === 'string' ? find(kind, namespace, name) : undefined;
      if (target === undefined) {
        if (optional === true) optionalMissing.add(`${kind}/${String(name)}`);
        else problems.push(`${where}: ${what} references ${kind} ${String(name)}, which is not in the overlay (namespace ${namespace})`);
        return;
      }
      if (key !== undefined && !(isObject(target.data) && typeof key === 'string' && key in target.data)) {
        problems.push(`${where}: ${what} references key ${String(key)} of ${kind} ${String(name)}, which has no such key`);
      }
    };
    const serviceAccount = spec.serviceAccountName;
    if (typeof serviceAccount === 'string' && find('ServiceAccount', namespace, serviceAccount) === undefined) {
      problems.push(`${where}: serviceAccountName ${serviceAccount} is not in the overlay`);
    }
    const volumes = list(spec.volumes);
    for (const volume of volumes) {
      if (isObject(volume.configMap)) requireRef('ConfigMap', volume.configMap.name, undefined, volume.configMap.optional, `volume ${String(volume.name)}`);
      if (isObject(volume.secret)) requireRef('Secret', volume.secret.secretName, undefined, volume.secret.optional, `volume ${String(volume.name)}`);
    }
    const containers = [...list(spec.initContainers), ...list(spec.containers)];
    const allPorts = containers.flatMap((container) => list(container.ports));
    for (const container of containers) {
      const at = `${where} container ${String(container.name)}`;
      for (const env of list(container.env)) {
        const from = isObject(env.valueFrom) ? env.valueFrom : undefined;
        if (from && isObject(from.secretKeyRef))
          requireRef('Secret', from.secretKeyRef.name, from.secretKeyRef.key, from.secretKeyRef.optional, `env ${String(env.name)}`);
        if (from && isObject(from.configMapKeyRef))
          requireRef('ConfigMap', from.configMapKeyRef.name, from.configMapKeyRef.key, from.configMapKeyRef.optional, `env ${String(env.name)}`);
        if (typeof env.name === 'string' && SECRET_KEY_PATTERN.test(env.name) && env.value !== undefined && env.name !== 'REINDEX_HEALTH_URL') {
          problems.push(`${at}: env ${env.name} has a literal value; secrets come from a Secret (valueFrom)`);
        }
      }
      for (const source of list(container.envFrom)) {
        if (isObject(source.secretRef)) requireRef('Secret', source.secretRef.name, undefined, source.secretRef.optional, 'envFrom');
        if (isObject(source.configMapRef)) requireRef('ConfigMap', source.configMapRef.name, undefined, source.configMapRef.optional, 'envFrom');
      }
      const claims =
        owner.kind === 'StatefulSet' && isObject(owner.spec)
          ? list(owner.spec.volumeClaimTemplates).map((claim) => (isObject(claim.metadata) ? claim.metadata.name : undefined))
          : [];
      for (const mount of list(container.volumeMounts)) {
        if (!volumes.some((volume) => volume.name === mount.name) && !claims.includes(mount.name))
          problems.push(`${at}: volumeMount ${String(mount.name)} has no volume`);
      }
      const ports = list(container.ports);
      for (const probeName of ['livenessProbe', 'readinessProbe', 'startupProbe']) {
        const probe = container[probeName];
        if (!isObject(probe)) continue;
        const action = isObject(probe.httpGet) ? probe.httpGet : isObject(probe.tcpSocket) ? probe.tcpSocket : undefined;
        if (action === undefined) continue;
        if (!portExposed(ports, action.port)) problems.push(`${at}: ${probeName} port ${JSON.stringify(action.port)} is not a port the container exposes`);
        if (isObject(probe.httpGet) && probe.httpGet.path !== '/healthz')
          problems.push(`${at}: ${probeName} must use GET /healthz, got ${String(probe.httpGet.path)}`);
      }
      const resources = isObject(container.resources) ? container.resources : {};
      if (!isObject(resources.requests) || !isObject(resources.limits) || resources.limits.memory === undefined) {
        problems.push(`${at}: needs resource requests and a memory limit`);
      }
      const image = container.image;
      if (typeof image !== 'string' || !/:[^/:@]+$|@sha256:[0-9a-f]{64}$/.test(image) || image.endsWith(':latest')) {
        problems.push(`${at}: image ${JSON.stringify(image)} must carry a version tag (not latest) or digest`);
      }
    }
    const annotations = isObject(template.metadata) && isObject(template.metadata.annotations) ? template.metadata.annotations : {};
    if (annotations['prometheus.io/scrape'] === 'true' && !allPorts.some((port) => String(port.containerPort) === annotations['prometheus.io/port'])) {
      problems.push(`${where}: prometheus.io/port ${String(annotations['prometheus.io/port'])} is not a container port`);
    }
  }

  // Services select pods of this overlay and target a port those pods expose.
  for (const service of objects.filter((object) => object.kind === 'Service')) {
    const spec = isObject(service.spec) ? service.spec : {};
    const selector = isObject(spec.selector) ? spec.selector : {};
    const selected = pods.filter(({ owner, template }) => {
      const labels = isObject(template.metadata) && isObject(template.metadata.labels) ? template.metadata.labels : {};
      return (
        owner.metadata.namespace === service.metadata.namespace &&
        Object.keys(selector).length > 0 &&
        Object.entries(selector).every(([key, value]) => labels[key] === value)
      );
    });
    if (selected.length === 0) problems.push(`Service ${service.metadata.name}: selector matches no pod template`);
    for (const port of list(spec.ports)) {
      const target = port.targetPort ?? port.port;
      for (const { where, spec: podSpec } of selected) {
        if (
          !portExposed(
            list(podSpec.containers).flatMap((container) => list(container.ports)),
            target,
          )
        ) {
          problems.push(`Service ${service.metadata.name}: targetPort ${JSON.stringify(target)} is not exposed by ${where}`);
        }
      }
    }
  }

  checkWorkers(pods, problems);
  checkCoordinator(objects, pods, problems);
  checkAutoscaling(objects, find, problems);
  checkSecrets(objects, problems);
  return { problems, optionalMissing: [...optionalMissing].sort() };
}

function checkWorkers(pods: readonly PodSite[], problems: string[]): void {
  const workers = pods.filter(({ spec }) => list(spec.containers).some((container) => commandOf(container)[0] === 'reindex-worker'));
  if (workers.length === 0) problems.push('no worker: no container runs reindex-worker');
  for (const { where, spec } of workers) {
    const grace = spec.terminationGracePeriodSeconds;
    if (typeof grace !== 'number' || grace < MIN_WORKER_GRACE_SECONDS) {
      problems.push(
        `${where}: terminationGracePeriodSeconds must be >= ${MIN_WORKER_GRACE_SECONDS} (a shard job finishes or is handed back after SIGTERM), got ${JSON.stringify(grace)}`,
      );
    }
    for (const container of list(spec.containers).filter((c) => commandOf(c)[0] === 'reindex-worker')) {
      const command = commandOf(container);
      const device = flag(command, '--device');
      const resources = isObject(container.resources) ? container.resources : {};
      const gpuLimit = isObject(resources.limits) ? resources.limits['nvidia.com/gpu'] : undefined;
      const gpuRequest = isObject(resources.requests) ? resources.requests['nvidia.com/gpu'] : undefined;
      if (device === 'cuda') {
        if (gpuLimit === undefined || Number(gpuLimit) < 1) problems.push(`${where}: a --device cuda worker must request nvidia.com/gpu`);
        if (gpuRequest !== undefined && String(gpuRequest) !== String(gpuLimit)) problems.push(`${where}: nvidia.com/gpu requests must equal limits`);
        const tolerations = list(spec.tolerations);
        if (!isObject(spec.nodeSelector) && tolerations.length === 0) problems.push(`${where}: a GPU worker needs a nodeSelector or tolerations for GPU nodes`);
        if (typeof container.image !== 'string' || !container.image.includes('gpu'))
          problems.push(`${where}: a --device cuda worker must run the GPU image, got ${String(container.image)}`);
      } else if (device === 'cpu') {
        if (gpuLimit !== undefined || gpuRequest !== undefined) problems.push(`${where}: a --device cpu worker must not take a GPU`);
      } else {
        problems.push(`${where}: reindex-worker needs --device cpu|cuda, got ${JSON.stringify(device)}`);
      }
      if (flag(command, '--concurrency') === undefined) problems.push(`${where}: reindex-worker needs --concurrency`);
    }
  }
}

function checkCoordinator(objects: readonly K8sObject[], pods: readonly PodSite[], problems: string[]): void {
  const cronJobs = objects.filter((object) => object.kind === 'CronJob');
  if (cronJobs.length === 0) problems.push('no CronJob: the nightly build is not scheduled');
  for (const cronJob of cronJobs) {
    const spec = isObject(cronJob.spec) ? cronJob.spec : {};
    if (spec.concurrencyPolicy !== 'Forbid')
      problems.push(`CronJob ${cronJob.metadata.name}: concurrencyPolicy must be Forbid, got ${JSON.stringify(spec.concurrencyPolicy)}`);
    if (typeof spec.timeZone !== 'string') problems.push(`CronJob ${cronJob.metadata.name}: timeZone must be set (else the controller's local time)`);
  }
  for (const { owner, where, spec } of pods.filter(({ owner }) => owner.kind === 'CronJob')) {
    for (const container of list(spec.containers)) {
      const command = commandOf(container);
      if (command[0] !== 'reindex') continue;
      if (flag(command, '--workers') !== '0') problems.push(`${where}: the coordinator must run with --workers 0 (remote workers only)`);
      const redis = flag(command, '--redis');
      const env = list(container.env);
      if (redis === undefined || !/^\$\(([A-Z_]+)\)$/.test(redis) || !env.some((e) => `$(${String(e.name)})` === redis && isObject(e.valueFrom))) {
        problems.push(
          `${where}: the coordinator must get --redis $(VAR) from a Secret-backed env var (else it starts a private redis-server), got ${JSON.stringify(redis)}`,
        );
      }
      const configPath = flag(command, '--config');
      const mount = list(container.volumeMounts).find(
        (m) => typeof m.mountPath === 'string' && typeof configPath === 'string' && configPath.startsWith(`${m.mountPath}/`),
      );
      const volume = mount && list(spec.volumes).find((v) => v.name === mount.name);
      const configMap =
        volume && isObject(volume.configMap)
          ? objects.find(
              (o) => o.kind === 'ConfigMap' && o.metadata.name === (volume.configMap as JsonObject).name && o.metadata.namespace === owner.metadata.namespace,
            )
          : undefined;
      const key = mount && typeof configPath === 'string' ? configPath.slice(String(mount.mountPath).length + 1) : undefined;
      const text = configMap && isObject(configMap.data) && key !== undefined ? configMap.data[key] : undefined;
      if (typeof text !== 'string') {
        problems.push(`${where}: --config ${String(configPath)} is not a key of a mounted ConfigMap`);
        continue;
      }
      try {
        validateConfig(JSON.parse(text), `ConfigMap ${configMap?.metadata.name} ${key}`);
      } catch (error) {
        problems.push(`${where}: ${(error as Error).message}`);
      }
    }
  }
}

function checkAutoscaling(
  objects: readonly K8sObject[],
  find: (kind: string, namespace: string | undefined, name: string) => K8sObject | undefined,
  problems: string[],
): void {
  const scaledObjects = objects.filter((object) => object.kind === 'ScaledObject');
  if (scaledObjects.length === 0) problems.push('no ScaledObject: workers do not scale on queue depth');
  const redisSecret = objects.find((object) => object.kind === 'Secret' && object.metadata.name === 'reindex-redis');
  const redisUrl =
    redisSecret && isObject(redisSecret.data) && typeof redisSecret.data.REDIS_URL === 'string'
      ? Buffer.from(redisSecret.data.REDIS_URL, 'base64').toString()
      : undefined;
  for (const scaled of scaledObjects) {
    const at = `ScaledObject ${scaled.metadata.name}`;
    const namespace = scaled.metadata.namespace;
    const spec = isObject(scaled.spec) ? scaled.spec : {};
    const target = isObject(spec.scaleTargetRef) ? spec.scaleTargetRef : {};
    const deployment = typeof target.name === 'string' ? find('Deployment', namespace, target.name) : undefined;
    if (deployment === undefined) problems.push(`${at}: scaleTargetRef ${String(target.name)} is not a Deployment of the overlay`);
    else if (isObject(deployment.spec) && deployment.spec.replicas !== undefined)
      problems.push(`${at}: Deployment ${deployment.metadata.name} sets replicas, which fights the autoscaler on every apply`);
    if (spec.minReplicaCount !== 0)
      problems.push(`${at}: minReplicaCount must be 0 (no idle workers between builds), got ${JSON.stringify(spec.minReplicaCount)}`);
    if (typeof spec.maxReplicaCount !== 'number' || spec.maxReplicaCount < 1) problems.push(`${at}: maxReplicaCount must be >= 1`);
    const triggers = list(spec.triggers);
    const lists = triggers.map((trigger) => (isObject(trigger.metadata) ? trigger.metadata.listName : undefined));
    if (!lists.includes(SHARD_WAIT_LIST))
      problems.push(`${at}: no redis trigger on the shard queue's wait list ${SHARD_WAIT_LIST} (got ${JSON.stringify(lists)})`);
    for (const queue of Object.values(QUEUE_NAMES)) {
      const wait = `${DEFAULT_QUEUE_PREFIX}:${queue}:wait`;
      if (!lists.includes(wait)) problems.push(`${at}: no trigger on ${wait}: with zero replicas its jobs would never start`);
    }
    for (const trigger of triggers) {
      const metadata = isObject(trigger.metadata) ? trigger.metadata : {};
      const name = `${at} trigger ${String(trigger.name ?? metadata.listName)}`;
      if (trigger.type !== 'redis') problems.push(`${name}: type must be redis (the BullMQ lists), got ${String(trigger.type)}`);
      if (
        typeof metadata.listName !== 'string' ||
        !new RegExp(`^${DEFAULT_QUEUE_PREFIX}:(${Object.values(QUEUE_NAMES).join('|')}):(wait|active)$`).test(metadata.listName)
      ) {
        problems.push(`${name}: listName ${JSON.stringify(metadata.listName)} is not a wait/active list of a reindex queue`);
      }
      if (typeof metadata.listLength !== 'string' || !/^[1-9]\d*$/.test(metadata.listLength))
        problems.push(`${name}: listLength must be a positive integer string`);
      for (const literal of ['address', 'host', 'password', 'passwordFromEnv', 'addressFromEnv']) {
        if (metadata[literal] !== undefined) problems.push(`${name}: ${literal} in trigger metadata; it belongs in the TriggerAuthentication`);
      }
      const tls = redisUrl?.startsWith('rediss://') === true ? 'true' : 'false';
      if (redisUrl !== undefined && metadata.enableTLS !== tls)
        problems.push(`${name}: enableTLS must be "${tls}" for REDIS_URL ${redisUrl.split('://')[0]}://..., got ${JSON.stringify(metadata.enableTLS)}`);
      const authName = isObject(trigger.authenticationRef) ? trigger.authenticationRef.name : undefined;
      const auth = typeof authName === 'string' ? find('TriggerAuthentication', namespace, authName) : undefined;
      if (auth === undefined) {
        problems.push(`${name}: authenticationRef ${String(authName)} is not a TriggerAuthentication of the overlay`);
        continue;
      }
      const refs = isObject(auth.spec) ? list(auth.spec.secretTargetRef) : [];
      if (!refs.some((ref) => ref.parameter === 'address' || ref.parameter === 'host'))
        problems.push(`TriggerAuthentication ${auth.metadata.name}: no address/host parameter`);
      for (const ref of refs) {
        const secret = typeof ref.name === 'string' ? find('Secret', namespace, ref.name) : undefined;
        if (secret === undefined || !isObject(secret.data) || typeof ref.key !== 'string' || !(ref.key in secret.data)) {
          problems.push(
            `TriggerAuthentication ${auth.metadata.name}: parameter ${String(ref.parameter)} references ${String(ref.name)}/${String(ref.key)}, which is not in the overlay`,
          );
        }
      }
    }
  }
}

function checkSecrets(objects: readonly K8sObject[], problems: string[]): void {
  for (const object of objects) {
    if (object.kind === 'Secret') {
      const entries = [
        ...Object.entries(isObject(object.data) ? object.data : {}).map(([key, value]) => [key, Buffer.from(String(value), 'base64').toString()] as const),
        ...Object.entries(isObject(object.stringData) ? object.stringData : {}).map(([key, value]) => [key, String(value)] as const),
      ];
      for (const [key, value] of entries) {
        if (SECRET_KEY_PATTERN.test(key) && !value.includes(PLACEHOLDER)) {
          problems.push(`Secret ${object.metadata.name}: ${key} holds a literal value; this repository carries ${PLACEHOLDER} placeholders only`);
        }
        for (const credential of credentialsIn(value)) {
          if (!credential.includes(PLACEHOLDER))
            problems.push(`Secret ${object.metadata.name}: ${key} embeds a credential that is not a ${PLACEHOLDER} placeholder`);
        }
      }
      continue;
    }
    const text = JSON.stringify(object);
    if (/AKIA[0-9A-Z]{16}/.test(text)) problems.push(`${object.kind} ${object.metadata.name}: contains an AWS access key id`);
    for (const credential of credentialsIn(text)) {
      problems.push(`${object.kind} ${object.metadata.name}: contains credentials in a URL (${credential.slice(0, 3)}...); use a Secret`);
    }
  }
}

/** The user:password part of every URL in `text`. */
function credentialsIn(text: string): string[] {
  return [...text.matchAll(/[a-z][a-z0-9+.-]*:\/\/([^/@\s"]*:[^/@\s"]+)@/gi)].map((match) => match[1] as string);
}

function podSites(objects: readonly K8sObject[]): PodSite[] {
  const out: PodSite[] = [];
  for (const owner of objects) {
    const spec = isObject(owner.spec) ? owner.spec : {};
    let template: Json | undefined;
    if (owner.kind === 'Deployment' || owner.kind === 'StatefulSet') template = spec.template;
    if (owner.kind === 'CronJob' && isObject(spec.jobTemplate) && isObject(spec.jobTemplate.spec)) template = spec.jobTemplate.spec.template;
    if (isObject(template) && isObject(template.spec)) out.push({ owner, where: `${owner.kind} ${owner.metadata.name}`, template, spec: template.spec });
  }
  return out;
}

function commandOf(container: JsonObject): string[] {
  return [...(Array.isArray(container.command) ? container.command : []), ...(Array.isArray(container.args) ? container.args : [])].map(String);
}

function flag(command: readonly string[], name: string): string | undefined {
  const index = command.indexOf(name);
  return index >= 0 ? command[index + 1] : undefined;
}

function portExposed(ports: readonly JsonObject[], port: Json | undefined): boolean {
  return typeof port === 'string' ? ports.some((p) => p.name === port) : ports.some((p) => p.containerPort === port);
}

function list(value: Json | undefined): JsonObject[] {
  return Array.isArray(value) ? value.filter(isObject) : [];
}
