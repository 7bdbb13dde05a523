/**
 * Loading a model bundle directory: bundle.json parsed and checked, model files present, and the
 * bundle's content hash (recorded in every index manifest) computed.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type { BundleManifest } from './bundle-manifest.js';
import { checkBundleManifest } from './bundle-manifest.js';
import { BundleError } from './errors.js';

export const BUNDLE_MANIFEST_FILE = 'bundle.json';

export interface ModelBundle {
  /** Absolute path of the bundle directory. */
  readonly dir: string;
  readonly manifest: BundleManifest;
  /** Absolute path of the item tower model. */
  readonly itemModelPath: string;
  /** Absolute path of the query tower model, or null when the bundle has none. */
  readonly queryModelPath: string | null;
  /**
   * `sha256:<hex>` over the bundle's files: sha256 of the lines `<file name> <sha256 of file>`
   * for bundle.json and each model file, sorted by name. Any byte change in any of them changes
   * it; renaming the directory does not.
   */
  readonly contentHash: string;
}

/**
 * Reads and checks a bundle directory. Fails with `BUNDLE_NOT_FOUND` when bundle.json or a model
 * file is absent and `BUNDLE_INVALID` (listing every problem) when bundle.json breaks the
 * contract. ONNX inputs/outputs are checked when a session is opened (`ItemEmbedder.create`,
 * `QueryEncoder.create`), since that needs onnxruntime to parse the model.
 */
export async function loadBundle(dir: string): Promise<ModelBundle> {
  const abs = path.resolve(dir);
  const manifestPath = path.join(abs, BUNDLE_MANIFEST_FILE);
  let text: string;
  try {
    text = await readFile(manifestPath, 'utf8');
  } catch (cause) {
    throw new BundleError('BUNDLE_NOT_FOUND', `cannot read ${manifestPath}: is ${abs} a model bundle?`, { cause });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (cause) {
    throw new BundleError('BUNDLE_INVALID', `${manifestPath} is not valid JSON`, { cause });
  }
  const problems = checkBundleManifest(parsed);
  if (problems.length > 0) {
    throw new BundleError('BUNDLE_INVALID', `${manifestPath} is invalid: ${problems.join('; ')}`);
  }
  const manifest = parsed as BundleManifest;
  const files = [manifest.item.model, ...(manifest.query ? [manifest.query.model] : [])];
  for (const file of files) {
    const p = path.join(abs, file);
    const info = await stat(p).catch((cause: unknown) => {
      throw new BundleError('BUNDLE_NOT_FOUND', `model file ${p} named in ${manifestPath} is missing`, { cause });
    });
    if (!info.isFile()) throw new BundleError('BUNDLE_NOT_FOUND', `model file ${p} named in ${manifestPath} is not a file`);
  }
  const lines: string[] = [];
  for (const file of [BUNDLE_MANIFEST_FILE, ...files].sort()) {
    lines.push(`${file} ${await sha256File(path.join(abs, file))}\n`);
  }
  return {
    dir: abs,
    manifest,
    itemModelPath: path.join(abs, manifest.item.model),
    queryModelPath: manifest.query ? path.join(abs, manifest.query.model) : null,
    contentHash: `sha256:${createHash('sha256').update(lines.join('')).digest('hex')}`,
  };
}

async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  // Streamed: production item towers can be gigabytes.
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
