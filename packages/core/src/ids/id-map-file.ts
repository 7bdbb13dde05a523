import { createReadStream, createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { finished } from 'node:stream/promises';
import { IdMapError } from '../errors.js';
import { IdMapper } from './id-mapper.js';

/**
 * The id map published next to an index whose items have string ids (contract).
 *
 * Format: JSONL, one `[faissId, itemId]` pair per line, faissId as a decimal string (JSON
 * numbers lose precision past 2^53), sorted by faissId ascending so a reader can binary-search
 * or merge-join it against search results. JSONL rather than a binary layout because any
 * language reads it with a stock JSON parser, and it gzips well when size matters.
 */
export const ID_MAP_CONTENT_TYPE = 'application/x-ndjson';

/** One id-map line (without the newline). */
export function formatIdMapLine(faissId: bigint, itemId: string): string {
  return JSON.stringify([faissId.toString(), itemId]);
}

/** Serializes a mapper to an in-memory JSONL buffer. Prefer writeIdMapFile for large maps. */
export function serializeIdMap(mapper: IdMapper): Buffer {
  const lines: string[] = [];
  for (const [faissId, itemId] of mapper.entries()) lines.push(formatIdMapLine(faissId, itemId));
  return Buffer.from(lines.length === 0 ? '' : `${lines.join('\n')}\n`, 'utf8');
}

/** Parses an id map (as produced by serializeIdMap) back into a mapper, re-checking collisions. */
export function parseIdMap(text: string | Buffer, source = 'id map'): IdMapper {
  const mapper = new IdMapper();
  const lines = text.toString().split('\n');
  lines.forEach((line, index) => {
    addLine(mapper, line, index, source);
  });
  return mapper;
}

/** Streams a mapper to a local file without building the whole text in memory. */
export async function writeIdMapFile(mapper: IdMapper, path: string): Promise<void> {
  const out = createWriteStream(path);
  for (const [faissId, itemId] of mapper.entries()) {
    if (!out.write(`${formatIdMapLine(faissId, itemId)}\n`)) await once(out, 'drain');
  }
  out.end();
  await finished(out);
}

/** Reads an id map file line by line. */
export async function readIdMapFile(path: string): Promise<IdMapper> {
  const mapper = new IdMapper();
  const lines = createInterface({ input: createReadStream(path), crlfDelay: Infinity });
  let index = 0;
  for await (const line of lines) addLine(mapper, line, index++, path);
  return mapper;
}

function addLine(mapper: IdMapper, line: string, index: number, source: string): void {
  if (line.trim() === '') return;
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch (cause) {
    throw new IdMapError('ID_MAP_INVALID', `${source} line ${index + 1} is not valid JSON`, { cause });
  }
  if (!Array.isArray(parsed) || parsed.length !== 2 || typeof parsed[0] !== 'string' || typeof parsed[1] !== 'string' || !/^\d+$/.test(parsed[0])) {
    throw new IdMapError('ID_MAP_INVALID', `${source} line ${index + 1} is not a ["<faissId>", "<itemId>"] pair`);
  }
  const faissId = BigInt(parsed[0]);
  const computed = mapper.add(parsed[1]);
  if (computed !== faissId) {
    throw new IdMapError('ID_MAP_INVALID', `${source} line ${index + 1}: item id ${JSON.stringify(parsed[1])} maps to ${computed}, not ${faissId}`);
  }
}
