import { isUtf8 } from 'node:buffer';
import { PlanError, sha256Buffer } from '@reindex/core';
import type { ModelBundle } from '@reindex/item-tower';

/** One line of a query file: a vector as given, or a text for the query tower. */
export type QueryFileEntry = { line: number; vector: Float32Array } | { line: number; text: string };

export interface ParsedQueryFile {
  entries: QueryFileEntry[];
  sha256: string;
}

/** Bad lines named in one error (the count of all of them follows). */
const LINES_NAMED = 3;
const FLOAT32_MAX = 3.4028234663852886e38;

/**
 * Parses `index.quality.queriesUrl`: JSON lines of `{"vector": [dim numbers]}` or
 * `{"query": "text"}` (blank lines skipped). Any line that is not one of those fails the whole
 * file (`QUERIES_INVALID`, naming `url:line` and why): measured quality on a silently shortened
 * query set would be a different number than the user asked for.
 */
export function parseQueryFile(bytes: Buffer, url: string, options: { dim: number; normalize: boolean }): ParsedQueryFile {
  if (!isUtf8(bytes)) throw new PlanError('QUERIES_INVALID', `query file ${url} is not UTF-8 text`);
  const entries: QueryFileEntry[] = [];
  const problems: string[] = [];
  const lines = bytes.toString('utf8').split('\n');
  lines.forEach((raw, index) => {
    const line = index + 1;
    const text = raw.trim();
    if (text === '') return;
    const entry = parseLine(text, line, options);
    if (typeof entry === 'string') problems.push(`${url}:${line}: ${entry}`);
    else entries.push(entry);
  });
  if (problems.length > 0) {
    throw new PlanError(
      'QUERIES_INVALID',
      `${problems.length} invalid line(s) in query file ${url}: ${problems.slice(0, LINES_NAMED).join('; ')}${problems.length > LINES_NAMED ? '; ...' : ''} (each line is {"vector": [${options.dim} numbers]} or {"query": "text"})`,
    );
  }
  if (entries.length === 0) throw new PlanError('QUERIES_INVALID', `query file ${url} holds no queries`);
  return { entries, sha256: sha256Buffer(bytes) };
}

function parseLine(text: string, line: number, options: { dim: number; normalize: boolean }): QueryFileEntry | string {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return 'not valid JSON';
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'not a JSON object';
  const keys = Object.keys(value);
  const unknown = keys.filter((k) => k !== 'vector' && k !== 'query');
  if (unknown.length > 0) return `unknown key ${JSON.stringify(unknown[0])}`;
  const record = value as { vector?: unknown; query?: unknown };
  if ((record.vector === undefined) === (record.query === undefined)) return 'needs exactly one of "vector" and "query"';
  if (record.query !== undefined) {
    if (typeof record.query !== 'string' || record.query.trim() === '') return '"query" is not a non-empty string';
    return { line, text: record.query };
  }
  const v = record.vector;
  if (!Array.isArray(v)) return '"vector" is not an array';
  if (v.length !== options.dim) return `"vector" has ${v.length} numbers, the index has dim ${options.dim}`;
  const vector = new Float32Array(options.dim);
  let norm = 0;
  for (let i = 0; i < v.length; i++) {
    const x = v[i];
    if (typeof x !== 'number' || !Number.isFinite(x) || Math.abs(x) > FLOAT32_MAX) return `"vector"[${i}] is ${JSON.stringify(x)}, not a finite float32`;
    vector[i] = x;
    norm += x * x;
  }
  if (options.normalize) {
    if (norm === 0) return '"vector" is all zeros and cannot be normalised';
    const scale = 1 / Math.sqrt(norm);
    for (let i = 0; i < vector.length; i++) vector[i]! *= scale;
  }
  return { line, vector };
}

/**
 * Why the bundle cannot encode the file's text queries into one vector each, or undefined:
 * that needs a query tower whose fusion is linear (mean, weighted).
 */
export function textQueryProblem(bundle: ModelBundle | undefined): string | undefined {
  if (bundle === undefined) return 'the build has no model bundle (its vectors come from the catalogue): give vectors, not text';
  const fusion = bundle.manifest.query?.fusion;
  if (bundle.queryModelPath === null || !fusion) return `model bundle ${bundle.dir} has no query tower: give vectors, not text`;
  if (fusion.kind !== 'mean' && fusion.kind !== 'weighted')
    return `model bundle ${bundle.dir} fuses its query heads by "${fusion.kind}", which one vector per query cannot reproduce: give vectors`;
  return undefined;
}
