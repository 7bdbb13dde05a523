import { mkdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseIntegerFlag } from '@reindex/core';

/** docs/benchmarks.md at the repository root, whatever the working directory. */
export const benchmarksFile = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../docs/benchmarks.md');

/** One line that says on what machine a benchmark ran, so numbers are never read out of context. */
export function machineLine(): string {
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  return `${os.cpus().length} × ${cpu}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, ${os.platform()} ${os.release()}`;
}

/**
 * Replaces (or appends) the section of docs/benchmarks.md owned by one benchmark. Sections are
 * delimited by HTML comments so that each `pnpm run bench:*` rewrites only its own results.
 */
export async function writeBenchSection(key: string, markdown: string): Promise<void> {
  const start = `<!-- bench:${key}:start -->`;
  const end = `<!-- bench:${key}:end -->`;
  let doc: string;
  try {
    doc = await readFile(benchmarksFile, 'utf8');
  } catch {
    doc = '# Benchmarks\n\nEach section is written by the command it names; rerun it to refresh.\n';
  }
  const block = `${start}\n${markdown.trim()}\n${end}`;
  const from = doc.indexOf(start);
  const to = doc.indexOf(end);
  doc = from >= 0 && to > from ? doc.slice(0, from) + block + doc.slice(to + end.length) : `${doc.trimEnd()}\n\n${block}\n`;
  await mkdir(path.dirname(benchmarksFile), { recursive: true });
  await writeFile(benchmarksFile, doc);
}

/** An integer option of a bench script, through the grammar every reindex binary uses (`1e6` works). */
export function intOption(name: string, raw: string | boolean | undefined, min = 1): number {
  const n = parseIntegerFlag(name, String(raw), { min });
  if (typeof n !== 'number') {
    process.stderr.write(`${n.problem}\n`);
    process.exit(2);
  }
  return n;
}
