import { z } from 'zod';
import { parseStoredRecord, recordFields as f } from '../store/stored-record.js';
import type { ShardPlan } from './shard-plan.js';

const part = z.discriminatedUnion('kind', [
  z.looseObject({ kind: z.literal('jsonl-range'), file: f.text, fileBytes: f.count, start: f.count, end: f.count }),
  z.looseObject({ kind: z.literal('jsonl-gz'), file: f.text, fileBytes: f.count }),
  z.looseObject({ kind: z.literal('parquet-rows'), file: f.text, fileBytes: f.count, rowStart: f.count, rowEnd: f.count }),
  z.looseObject({ kind: z.literal('synthetic-rows'), file: f.text, fileBytes: f.count, rowStart: f.count, rowEnd: f.count }),
]);

const planSchema = z
  .looseObject({
    formatVersion: z.literal(1),
    source: f.text,
    shardCount: f.positive,
    createdAt: f.text,
    totals: z.looseObject({ files: f.count, bytes: f.count, estimatedRows: f.count, rowsExact: z.boolean() }),
    files: z.array(z.looseObject({ file: f.text, format: z.enum(['jsonl', 'jsonl.gz', 'parquet', 'synthetic']), bytes: f.count })),
    shards: z.array(z.looseObject({ index: f.count, parts: z.array(part), estimatedRows: f.count, estimatedBytes: f.count })),
  })
  .refine((plan) => plan.shards.length === plan.shardCount && plan.shards.every((s, i) => s.index === i), {
    error: 'shards must hold shardCount entries, numbered 0..shardCount-1 in order',
  });

/** plan.json read back from the store, validated (see parseStoredRecord). */
export function parsePlanRecord(bytes: Buffer, key: string): ShardPlan {
  return parseStoredRecord<ShardPlan>(bytes, key, planSchema);
}
