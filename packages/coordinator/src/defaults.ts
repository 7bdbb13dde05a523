import { access, mkdir, rename } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildReferenceBundle } from '@reindex/item-tower';
import { writeCatalogue } from '@reindex/sample-catalogue';

/** The repository root (packages/coordinator/dist/ → ../../..). */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

/** Embedded defaults of the zero-configuration run, all under var/ (git-ignored). */
export const EMBEDDED_DEFAULTS = Object.freeze({
  /** The bundled sample catalogue: generated deterministically on first use. */
  catalogueFile: path.join(REPO_ROOT, 'var/sample/catalogue.jsonl'),
  sampleItems: 100_000,
  /** The reference MMSE-shaped model bundle: built deterministically on first use. */
  modelDir: path.join(REPO_ROOT, 'var/models/reference'),
  /** The local object store. */
  storeUrl: `file://${path.join(REPO_ROOT, 'var/store')}`,
});

async function exists(file: string): Promise<boolean> {
  return access(file).then(
    () => true,
    () => false,
  );
}

/** Generates the sample catalogue when it is not there yet; returns its path. */
export async function ensureSampleCatalogue(log: (line: string) => void = () => undefined): Promise<string> {
  const file = EMBEDDED_DEFAULTS.catalogueFile;
  if (!(await exists(file))) {
    log(`generating the sample catalogue (${EMBEDDED_DEFAULTS.sampleItems.toLocaleString('en')} items) at ${file}`);
    await mkdir(path.dirname(file), { recursive: true });
    await writeCatalogue(`${file}.tmp`, { items: EMBEDDED_DEFAULTS.sampleItems, format: 'jsonl' });
    await rename(`${file}.tmp`, file);
  }
  return file;
}

/** Builds the reference model bundle when it is not there yet; returns its directory. */
export async function ensureReferenceModel(log: (line: string) => void = () => undefined): Promise<string> {
  const dir = EMBEDDED_DEFAULTS.modelDir;
  if (!(await exists(path.join(dir, 'bundle.json')))) {
    log(`building the reference model bundle at ${dir}`);
    await buildReferenceBundle(dir);
  }
  return dir;
}
