/** Helpers shared by this package's tests (compiled with them, not exported by the package). */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { buildReferenceBundle } from './reference-model.js';
import type { ReferenceModelOptions } from './reference-model.js';

/** A fresh temporary directory, removed by the returned cleanup. */
export async function tempDir(prefix: string): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), `reindex-item-tower-${prefix}-`));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** Builds a reference bundle into a fresh directory. */
export async function referenceBundleDir(options: Partial<ReferenceModelOptions> = {}): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const t = await tempDir('bundle');
  await buildReferenceBundle(t.dir, options);
  return t;
}

/** Inner product of rows `a` of `x` and `b` of `y`. */
export function dot(x: Float32Array, a: number, y: Float32Array, b: number, dim: number): number {
  let s = 0;
  for (let k = 0; k < dim; k++) s += (x[a * dim + k] as number) * (y[b * dim + k] as number);
  return s;
}

/** True where an NVIDIA GPU device node exists; CUDA-unavailability tests skip there. */
export async function hasNvidiaDevice(): Promise<boolean> {
  const { access } = await import('node:fs/promises');
  return access('/dev/nvidia0').then(
    () => true,
    () => false,
  );
}
