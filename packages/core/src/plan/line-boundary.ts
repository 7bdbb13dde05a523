import type { ObjectStore } from '../store/object-store.js';

const NEWLINE = 0x0a;

/**
 * Smallest line start >= `offset` in a plain JSONL file (a line start is 0 or just after `\n`),
 * or `fileBytes` when no line starts at or after `offset`. Reads from `offset - 1` in chunks of
 * `chunkBytes`, so typical lines cost one small ranged read.
 */
export async function nextLineStart(store: ObjectStore, file: string, fileBytes: number, offset: number, chunkBytes = 16 * 1024): Promise<number> {
  if (offset <= 0) return 0;
  if (offset >= fileBytes) return fileBytes;
  let from = offset - 1;
  while (from < fileBytes) {
    const chunk = await store.getRange(file, from, Math.min(from + chunkBytes, fileBytes) - 1);
    const at = chunk.indexOf(NEWLINE);
    if (at >= 0) return from + at + 1;
    from += chunk.length;
    chunkBytes *= 2; // a very long line: grow reads instead of crawling
  }
  return fileBytes;
}

/**
 * Largest line start < `offset` (0 when none), reading backwards from `offset - 2` in chunks.
 * Used to pull a cut back when later cuts collide at the end of a file.
 */
export async function previousLineStart(store: ObjectStore, file: string, offset: number, chunkBytes = 16 * 1024): Promise<number> {
  // A line start q < offset needs byte q - 1 === '\n' with q - 1 <= offset - 2.
  let end = offset - 2;
  while (end >= 0) {
    const from = Math.max(0, end - chunkBytes + 1);
    const chunk = await store.getRange(file, from, end);
    const at = chunk.lastIndexOf(NEWLINE);
    if (at >= 0) return from + at + 1;
    end = from - 1;
    chunkBytes *= 2;
  }
  return 0;
}
