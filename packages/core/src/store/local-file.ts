import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';

/**
 * Writes `localPath` through a temporary file beside it and a rename, so a reader of the path
 * never sees a partial file; the temporary file is removed when `write` fails.
 */
export async function replaceFileAtomically(localPath: string, write: (tmpPath: string) => Promise<void>): Promise<void> {
  await mkdir(dirname(localPath), { recursive: true });
  const tmp = `${localPath}.${randomBytes(6).toString('hex')}.part`;
  try {
    await write(tmp);
    await rename(tmp, localPath);
  } catch (error) {
    await rm(tmp, { force: true });
    throw error;
  }
}
