import type { CatalogueRow, Rejection, RowBatch } from './catalogue-types.js';

/** Accumulates rows and rejections into batches of at most `batchSize` entries. */
export class Batcher {
  private rows: CatalogueRow[] = [];
  private rejections: Rejection[] = [];

  constructor(private readonly batchSize: number) {}

  /** Adds a row; returns a full batch when one is ready. */
  row(row: CatalogueRow): RowBatch | undefined {
    this.rows.push(row);
    return this.takeIfFull();
  }

  reject(rejection: Rejection): RowBatch | undefined {
    this.rejections.push(rejection);
    return this.takeIfFull();
  }

  /** The remaining partial batch, if any. */
  flush(): RowBatch | undefined {
    if (this.rows.length === 0 && this.rejections.length === 0) return undefined;
    const batch = { rows: this.rows, rejections: this.rejections };
    this.rows = [];
    this.rejections = [];
    return batch;
  }

  private takeIfFull(): RowBatch | undefined {
    return this.rows.length + this.rejections.length >= this.batchSize ? this.flush() : undefined;
  }
}
