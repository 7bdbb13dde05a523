import { z } from 'zod';
import { ReindexError } from '../errors.js';

/** A JSON record reindex wrote to the store (build.json, plan.json, shard stats, quality.json) that does not read back. */
export class StoredRecordError extends ReindexError {}

/** Problems named in one error. */
const ISSUES_NAMED = 5;

/**
 * Parses a record read back from the store through its schema: invalid JSON, a `formatVersion`
 * this code does not know, or a field of the wrong shape is a `StoredRecordError` naming the key
 * and each field at fault (`RECORD_VERSION_UNKNOWN`, `RECORD_INVALID`), never a cast that fails
 * later as `undefined`. The schema checks what readers rely on; fields it does not name pass.
 */
export function parseStoredRecord<T>(bytes: Buffer, key: string, schema: z.ZodType, knownVersion = 1): T {
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString('utf8'));
  } catch (cause) {
    throw new StoredRecordError('RECORD_INVALID', `${key} is not valid JSON: ${(cause as Error).message}`, { cause });
  }
  const version = (value as { formatVersion?: unknown } | null)?.formatVersion;
  if (version !== undefined && version !== knownVersion) {
    throw new StoredRecordError(
      'RECORD_VERSION_UNKNOWN',
      `${key} has formatVersion ${JSON.stringify(version)}; this reindex reads formatVersion ${knownVersion} (written by another release?)`,
    );
  }
  const result = schema.safeParse(value);
  if (!result.success) {
    const issues = result.error.issues.map((issue) => `${issue.path.map(String).join('.') || '(root)'}: ${issue.message}`);
    throw new StoredRecordError(
      'RECORD_INVALID',
      `${key} is not a valid record: ${issues.slice(0, ISSUES_NAMED).join('; ')}${issues.length > ISSUES_NAMED ? `; ... (${issues.length} problems)` : ''}`,
    );
  }
  return value as T;
}

/** Schema pieces the records share. */
export const recordFields = {
  count: z.number().int().nonnegative(),
  positive: z.number().int().positive(),
  ms: z.number().nonnegative(),
  text: z.string().min(1),
  file: z.looseObject({ path: z.string().min(1), bytes: z.number().int().nonnegative(), sha256: z.string().regex(/^[0-9a-f]{64}$/) }),
};
