import { redactSecrets } from './util/redact.js';

/**
 * Error hierarchy shared by every reindex package.
 *
 * Each class carries a stable string `code` so callers (CLI exit codes, the dashboard, retry
 * policies) can branch without parsing messages, and chains the underlying error as `cause` so
 * the original stack is not lost when we translate a low-level failure into a domain error.
 */

export interface ReindexErrorOptions {
  /** The lower-level error this one explains. */
  cause?: unknown;
  /**
   * The config option at fault (its path, e.g. `shardCount`), so that each front end names it
   * its own way (the CLI: its flag); libraries never name a front end's flags.
   */
  option?: string;
}

/** Base class: every error thrown on purpose by reindex code is a ReindexError. */
export class ReindexError extends Error {
  /** Stable machine-readable identifier, e.g. `OBJECT_NOT_FOUND`. Never localised or reworded. */
  readonly code: string;
  /** The config option at fault, when one is (see ReindexErrorOptions.option). */
  readonly option?: string;

  constructor(code: string, message: string, options: ReindexErrorOptions = {}) {
    // Messages name URLs the user gave (stores, Redis, endpoints): never with their secrets.
    super(redactSecrets(message), options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    if (options.option !== undefined) this.option = options.option;
    this.name = new.target.name;
  }
}

/** Invalid configuration or option value; the message names the option path. */
export class ConfigError extends ReindexError {
  constructor(message: string, options: ReindexErrorOptions & { code?: string } = {}) {
    super(options.code ?? 'CONFIG_INVALID', message, options);
  }
}

/** A catalogue file cannot be listed, opened or decoded; the message names the file. */
export class CatalogueError extends ReindexError {
  constructor(code: string, message: string, options: ReindexErrorOptions = {}) {
    super(code, message, options);
  }
}

/** Codes of {@link ObjectStoreError}, stable across stores so callers can treat file:// and s3:// alike. */
export type ObjectStoreErrorCode =
  | 'OBJECT_NOT_FOUND'
  | 'BUCKET_NOT_FOUND'
  | 'PERMISSION_DENIED'
  | 'ENDPOINT_UNREACHABLE'
  | 'INVALID_KEY'
  | 'INVALID_URL'
  | 'INVALID_RANGE'
  | 'STORE_FULL'
  | 'STORE_IO';

/** An object store operation failed; the message names the store URL and key. */
export class ObjectStoreError extends ReindexError {
  declare readonly code: ObjectStoreErrorCode;

  constructor(code: ObjectStoreErrorCode, message: string, options: ReindexErrorOptions = {}) {
    super(code, message, options);
  }
}

/** A shard plan cannot be made or executed (bad shard count, catalogue changed since planning). */
export class PlanError extends ReindexError {
  constructor(code: string, message: string, options: ReindexErrorOptions = {}) {
    super(code, message, options);
  }
}

/** Item ids cannot be mapped to faiss ids (hash collision, mixed id kinds, out-of-range ints). */
export class IdMapError extends ReindexError {
  constructor(code: string, message: string, options: ReindexErrorOptions = {}) {
    super(code, message, options);
  }
}

/** A manifest or LATEST pointer does not match the published contract. */
export class ManifestError extends ReindexError {
  constructor(message: string, options: ReindexErrorOptions = {}) {
    super('MANIFEST_INVALID', message, options);
  }
}

/** "1 attempt", "4 failed attempts": how failure messages count a job's attempts. */
export function attemptsPhrase(attempts: number | undefined, adjective?: string): string {
  const noun = attempts === 1 ? 'attempt' : 'attempts';
  return `${attempts ?? '?'} ${adjective === undefined ? '' : `${adjective} `}${noun}`;
}
