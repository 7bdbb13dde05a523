import { constants, gunzipSync } from 'node:zlib';
import type { ObjectStore } from '../store/object-store.js';

/** Average bytes per line at the head of a plain JSONL file (at least 1). */
export async function jsonlBytesPerLine(store: ObjectStore, file: string, fileBytes: number, sampleBytes: number): Promise<number> {
  if (fileBytes === 0) return 1;
  const head = await store.getRange(file, 0, Math.min(sampleBytes, fileBytes) - 1);
  const lines = countLines(head, head.length === fileBytes);
  return lines === 0 ? Math.max(head.length, 1) : Math.max(head.length / lines, 1);
}

/**
 * Estimated lines per compressed byte of a gzip JSONL file, from decompressing its head. A
 * truncated head is fine: SYNC_FLUSH makes zlib return what it could decode instead of failing.
 */
export async function gzipLinesPerByte(store: ObjectStore, file: string, fileBytes: number, sampleBytes: number): Promise<number> {
  if (fileBytes === 0) return 0;
  const head = await store.getRange(file, 0, Math.min(sampleBytes, fileBytes) - 1);
  let text: Buffer;
  try {
    text = gunzipSync(head, { finishFlush: constants.Z_SYNC_FLUSH });
  } catch {
    return 0; // not decodable: readShard reports the file properly; the estimate stays neutral
  }
  return countLines(text, head.length === fileBytes) / head.length;
}

function countLines(bytes: Buffer, complete: boolean): number {
  let count = 0;
  for (let at = bytes.indexOf(0x0a); at >= 0; at = bytes.indexOf(0x0a, at + 1)) count++;
  // A complete buffer whose last line has no newline still holds that line.
  if (complete && bytes.length > 0 && bytes[bytes.length - 1] !== 0x0a) count++;
  return count;
}
