import { indexVersionPrefix, sha256Buffer, sha256File, type ObjectStore } from '@reindex/core';
import { BuildIntegrityError, type BuildSpec, type IncrementalBase } from './build-spec.js';

function baseFile(spec: BuildSpec, file: string): { key: string; entry: IncrementalBase['files'][number]; base: IncrementalBase } {
  const base = spec.incremental;
  if (!base) throw new BuildIntegrityError(`build ${spec.buildId} is not incremental`);
  const entry = base.files.find((f) => f.path === file);
  if (!entry) throw new BuildIntegrityError(`build ${spec.buildId}: base version ${base.version} lists no ${file}`);
  return { key: `${indexVersionPrefix(spec.name, base.version)}${file}`, entry, base };
}

/**
 * One file of an incremental build's base version, checked against the sha256 its manifest
 * recorded: a base that changed or vanished since planning fails the job, never a partial index.
 */
export async function readBaseFile(store: ObjectStore, spec: BuildSpec, file: string): Promise<Buffer> {
  const { key, entry, base } = baseFile(spec, file);
  const body = await store.get(key);
  if (body.length !== entry.bytes || sha256Buffer(body) !== entry.sha256)
    throw new BuildIntegrityError(`${key} is not the file version ${base.version} published`);
  return body;
}

/** {@link readBaseFile} into a local file (for the index). */
export async function downloadBaseFile(store: ObjectStore, spec: BuildSpec, file: string, local: string): Promise<void> {
  const { key, entry, base } = baseFile(spec, file);
  await store.download(key, local);
  if ((await sha256File(local)) !== entry.sha256) throw new BuildIntegrityError(`${key} is not the file version ${base.version} published`);
}
