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
    const seconds = p.elapsedMs / 1000;
    const rate = seconds > 0 ? p.items / seconds : 0;
    const estimatedTotal = p.shardsDone > 0 ? (p.items / Math.max(p.shardsDone + p.shardsActive * 0.5, 1)) * p.shardsTotal : 0;
    const eta = rate > 0 && estimatedTotal > p.items ? (estimatedTotal - p.items) / rate : undefined;
    const line = `[${p.stage}] shards ${p.shardsDone}/${p.shardsTotal} (${p.shardsActive} running) · ${p.items.toLocaleString('en')} items · ${p.rejected} rejected · ${Math.round(rate).toLocaleString('en')} items/s${eta !== undefined ? ` · ETA ${Math.ceil(eta)} s` : ''} · ${seconds.toFixed(0)} s`;
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
