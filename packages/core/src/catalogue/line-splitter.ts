import { isUtf8 } from 'node:buffer';
import type { Readable } from 'node:stream';

/** One line of a byte stream: its start offset (relative to the stream start) and its bytes. */
export interface RawLine {
  offset: number;
  bytes: Buffer;
}

const NEWLINE = 0x0a;

/**
 * Splits a byte stream into `\n`-terminated lines, tracking byte offsets, without decoding the
 * whole stream. Works on bytes so a multi-byte UTF-8 character split across chunks is never
 * mangled and offsets stay exact. A final line without a newline is yielded too.
 */
export async function* splitLines(stream: Readable): AsyncGenerator<RawLine> {
  let pending: Buffer[] = [];
  let pendingStart = 0;
  let consumed = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    let from = 0;
    let newline = chunk.indexOf(NEWLINE, from);
    while (newline >= 0) {
      const piece = chunk.subarray(from, newline);
      const bytes = pending.length === 0 ? piece : Buffer.concat([...pending, piece]);
      yield { offset: pendingStart, bytes };
      pending = [];
      pendingStart = consumed + newline + 1;
      from = newline + 1;
      newline = chunk.indexOf(NEWLINE, from);
    }
    if (from < chunk.length) pending.push(chunk.subarray(from));
    consumed += chunk.length;
  }
  if (pending.length > 0) yield { offset: pendingStart, bytes: Buffer.concat(pending) };
}

/** Parses one JSONL line into an object row, or explains why it is not one. */
export function parseJsonLine(bytes: Buffer): { value: Record<string, unknown> } | { reason: string } | undefined {
  // Decoding would silently replace invalid sequences with U+FFFD and index an altered title:
  // such a line is a counted rejection instead.
  if (!isUtf8(bytes)) return { reason: `invalid UTF-8 (${describeInvalidUtf8(bytes)}); the line is not indexed rather than indexed altered` };
  let text = bytes.toString('utf8');
  if (text.endsWith('\r')) text = text.slice(0, -1);
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  // Blank lines separate nothing and describe no item; they are not rejections.
  if (text.trim() === '') return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    return { reason: `invalid JSON: ${(error as Error).message}` };
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    return { reason: `expected a JSON object, got ${Array.isArray(parsed) ? 'an array' : parsed === null ? 'null' : typeof parsed}` };
  }
  return { value: exactLargeIntegers(parsed as Record<string, unknown>, text) };
}

/**
 * JSON.parse rounds integers beyond 2^53 (9007199254740993 becomes ...992), which would turn
 * two item ids into one. A top-level integer of that size is re-read from the line's own
 * digits as a bigint: the first `"key": <digits>` in the line that rounds to the parsed value.
 */
function exactLargeIntegers(value: Record<string, unknown>, text: string): Record<string, unknown> {
  for (const [key, v] of Object.entries(value)) {
    if (typeof v !== 'number' || !Number.isInteger(v) || Number.isSafeInteger(v)) continue;
    const pattern = new RegExp(`${escapeRegExp(JSON.stringify(key))}\\s*:\\s*(-?\\d+)(?=\\s*[,}])`, 'g');
    for (const match of text.matchAll(pattern)) {
      const exact = BigInt(match[1]!);
      if (Number(exact) === v) {
        value[key] = exact;
        break;
      }
    }
  }
  return value;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Where the first invalid UTF-8 sequence of a line starts, for the rejection message (rejected lines only). */
function describeInvalidUtf8(bytes: Buffer): string {
  let at = 0;
  while (at < bytes.length) {
    const lead = bytes[at]!;
    if (lead < 0x80) {
      at++;
      continue;
    }
    const length = lead >= 0xc2 && lead <= 0xdf ? 2 : lead >= 0xe0 && lead <= 0xef ? 3 : lead >= 0xf0 && lead <= 0xf4 ? 4 : 0;
    // The whole sequence must be valid on its own (continuation bytes, no overlong form or surrogate).
    if (length === 0 || !isUtf8(bytes.subarray(at, at + length))) break;
    at += length;
  }
  return `bytes ${bytes.subarray(at, at + 4).toString('hex')} at byte ${at} of the line`;
}
