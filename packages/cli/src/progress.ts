import type { BuildProgress } from '@reindex/coordinator';

/** Progress on a TTY (one line rewritten in place) or as plain log lines (cron, CI, pipes). */
export class ProgressDisplay {
  #lastLine = '';
  #lastPrintAt = 0;
  #lastStage = '';
  readonly #tty: boolean;

  constructor(private readonly out: NodeJS.WriteStream = process.stderr) {
    this.#tty = out.isTTY === true;
  }

  log(line: string): void {
    this.clear();
    this.out.write(`${line}\n`);
  }

  update(p: BuildProgress): void {
    const line = progressLine(p);
    if (this.#tty) {
      this.out.write(`\r\x1b[K${line}`);
      this.#lastLine = line;
    } else if (p.stage !== this.#lastStage || Date.now() - this.#lastPrintAt > 5000) {
      this.out.write(`${new Date().toISOString()} ${line}\n`);
      this.#lastPrintAt = Date.now();
    }
    this.#lastStage = p.stage;
  }

  clear(): void {
    if (this.#tty && this.#lastLine) {
      this.out.write('\r\x1b[K');
      this.#lastLine = '';
    }
  }
}

/**
 * One progress line. Training says what it does (sampling n/N, k-means); the shard stage's
 * rate and ETA count only the items embedded by this run since the stage started (reused shards
 * are shown apart, not as speed); the publish job's two steps are labelled quality and publish.
 */
export function progressLine(p: BuildProgress): string {
  const seconds = p.elapsedMs / 1000;
  const total = `${seconds.toFixed(0)} s`;
  if (p.stage === 'train') {
    const t = p.train;
    if (t?.step === 'k-means')
      return `[train] k-means on ${(t.embedded ?? 0).toLocaleString('en')} vectors${t.resumed ? ' (sample from a checkpoint)' : ''} · ${total}`;
    if (t?.step === 'sample') {
      const of = t.sampleSize !== undefined ? `/${t.sampleSize.toLocaleString('en')}` : '';
      return `[train] sampling ${(t.sampled ?? 0).toLocaleString('en')}${of} rows · ${(t.embedded ?? 0).toLocaleString('en')} embedded${t.resumed ? ' (from a checkpoint)' : ''} · ${total}`;
    }
    return `[train] starting · ${total}`;
  }
  const doneNow = p.items - p.itemsReused;
  const stageSeconds = (p.shardStageMs ?? 0) / 1000;
  const rate = stageSeconds > 0 ? doneNow / stageSeconds : 0;
  const shardsLeft = p.shardsTotal - p.shardsDone - p.shardsActive * 0.5;
  const perShard = p.shardsDone > 0 ? p.items / Math.max(p.shardsDone + p.shardsActive * 0.5, 1) : 0;
  const eta = p.stage === 'shards' && rate > 0 && perShard > 0 ? (shardsLeft * perShard) / rate : undefined;
  const reused = p.itemsReused > 0 ? ` (${p.itemsReused.toLocaleString('en')} reused)` : '';
  const stageNote = p.stage === 'quality' ? ' · measuring recall' : '';
  return `[${p.stage}] shards ${p.shardsDone}/${p.shardsTotal} (${p.shardsActive} running) · ${p.items.toLocaleString('en')} items${reused} · ${p.rejected} rejected · ${Math.round(rate).toLocaleString('en')} items/s${eta !== undefined ? ` · ETA ${Math.ceil(eta)} s` : ''}${stageNote} · ${total}`;
}
