import { readFile, writeFile } from 'node:fs/promises';
import type { ScaleRates } from '@reindex/coordinator';

/** Writes the fields one benchmark measured into the shared rates file, keeping the others'. */
export async function mergeScaleRates(file: string, measured: Partial<ScaleRates>): Promise<void> {
  const current = await readFile(file, 'utf8').then(
    (t) => JSON.parse(t) as Partial<ScaleRates>,
    () => ({}),
  );
  for (const [key, value] of Object.entries(measured)) {
    if (typeof value === 'number' && !(Number.isFinite(value) && value > 0)) throw new Error(`measured ${key} is ${value}: not written`);
  }
  await writeFile(file, `${JSON.stringify({ ...current, ...measured }, null, 2)}\n`);
}
