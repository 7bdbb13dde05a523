import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';

/** Hex sha256 of an in-memory buffer. */
export function sha256Buffer(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Hex sha256 of a stream, consumed chunk by chunk (constant memory). */
export async function sha256Stream(stream: Readable): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of stream) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Hex sha256 of a local file, streamed (index files can be many GiB). */
export function sha256File(path: string): Promise<string> {
  return sha256Stream(createReadStream(path));
}
