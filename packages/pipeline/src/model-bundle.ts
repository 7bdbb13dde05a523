/**
 * Model bundles from a local directory or an object-store prefix (`s3://bucket/models/v7/`,
 * `file:///srv/models/v7/`): the bundle contract allows both, and a fleet of workers should not
 * need the model mounted. A prefix is downloaded once per process into a cache directory, then
 * loaded and checked like a local bundle.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { openObjectStore, type S3Options } from '@reindex/core';
import { BUNDLE_MANIFEST_FILE, BundleError, loadBundle, type ModelBundle } from '@reindex/item-tower';

/** True for `s3://…` and `file://…` locations; anything else is a local directory path. */
export function isBundleUrl(location: string): boolean {
  return /^(s3|file):\/\//i.test(location);
}

export interface OpenModelBundleOptions {
  /** Where downloaded bundles are kept (one subdirectory per URL). Required for URLs. */
  cacheDir?: string;
  /** Options for `s3://` locations (endpoint, credentials). */
  s3?: S3Options;
  /**
   * The content hash the bundle must have (a build's `model.contentHash`). A cached download
   * with another hash is fetched again; a bundle that still differs fails with
   * `BUNDLE_CHANGED`: the model changed after the build was planned.
   */
  expectedHash?: string;
}

// A model file name from bundle.json becomes a local path: plain names only.
const SAFE_FILE = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** Opens the bundle at `location` (local directory or object-store prefix). */
export async function openModelBundle(location: string, options: OpenModelBundleOptions = {}): Promise<ModelBundle> {
  if (!isBundleUrl(location)) return checked(await loadBundle(location), location, options.expectedHash);
  if (options.cacheDir === undefined)
    throw new BundleError('BUNDLE_NOT_FOUND', `model bundle ${location} is an object-store URL: a cache directory is needed to download it`);
  const dir = path.join(options.cacheDir, `bundle-${createHash('sha256').update(location).digest('hex').slice(0, 24)}`);
  if (options.expectedHash !== undefined) {
    const cached = await loadBundle(dir).catch(() => undefined);
    if (cached?.contentHash === options.expectedHash) return cached;
  }
  await download(location, dir, options.s3);
  return checked(await loadBundle(dir), location, options.expectedHash);
}

function checked(bundle: ModelBundle, location: string, expectedHash: string | undefined): ModelBundle {
  if (expectedHash !== undefined && bundle.contentHash !== expectedHash) {
    throw new BundleError(
      'BUNDLE_CHANGED',
      `model bundle ${location} is ${bundle.contentHash}, but the build was planned with ${expectedHash}: the model changed after planning`,
    );
  }
  return bundle;
}

/** Downloads bundle.json and the model files it names into `dir`, replacing it as a whole. */
async function download(location: string, dir: string, s3: S3Options | undefined): Promise<void> {
  const store = openObjectStore(location, { ...(s3 ? { s3 } : {}) });
  const partial = `${dir}.partial-${randomBytes(6).toString('hex')}`;
  try {
    await mkdir(partial, { recursive: true });
    const manifestText = await store.get(BUNDLE_MANIFEST_FILE).catch((cause: unknown) => {
      throw new BundleError('BUNDLE_NOT_FOUND', `cannot read ${location.replace(/\/*$/, '/')}${BUNDLE_MANIFEST_FILE}: is ${location} a model bundle?`, {
        cause,
      });
    });
    let manifest: { item?: { model?: unknown }; query?: { model?: unknown } };
    try {
      manifest = JSON.parse(manifestText.toString('utf8')) as typeof manifest;
    } catch (cause) {
      throw new BundleError('BUNDLE_INVALID', `${location}: ${BUNDLE_MANIFEST_FILE} is not valid JSON`, { cause });
    }
    const files = [manifest.item?.model, manifest.query?.model].filter((f) => f !== undefined);
    for (const file of files) {
      if (typeof file !== 'string' || !SAFE_FILE.test(file)) {
        throw new BundleError(
          'BUNDLE_INVALID',
          `${location}: model file name ${JSON.stringify(file)} in ${BUNDLE_MANIFEST_FILE} must be a plain file name (letters, digits, ".", "_", "-")`,
        );
      }
      await store.download(file, path.join(partial, file)).catch((cause: unknown) => {
        throw new BundleError('BUNDLE_NOT_FOUND', `model file ${file} named in ${location} cannot be downloaded: ${(cause as Error).message}`, { cause });
      });
    }
    await writeFile(path.join(partial, BUNDLE_MANIFEST_FILE), manifestText);
    await rm(dir, { recursive: true, force: true });
    await rename(partial, dir);
  } finally {
    await rm(partial, { recursive: true, force: true });
    await store.close();
  }
}
