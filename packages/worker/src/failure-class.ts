import { ReindexError } from '@reindex/core';
import { FaissError } from '@reindex/faiss';
import { ItemTowerError } from '@reindex/item-tower';
import { JobDataError } from '@reindex/queue';
import { QualityGateError, VersionError } from '@reindex/pipeline';

/**
 * Whether a failed job attempt is worth another attempt.
 *
 * - `permanent`: every attempt would read the same bytes and fail the same way (a corrupt or
 *   changed input, an invalid option, an unsupported index, a model that emits NaN). The job
 *   fails at once; an operator fixes the input and retries it.
 * - `transient`: the cause is outside the input (network, Redis, the object store, memory or
 *   disk on this machine, a worker shutting down) and another attempt, maybe on another
 *   worker, can succeed.
 *
 * The one place failures are classified; errors nobody classified are transient, because a
 * retry of a deterministic failure only costs attempts, while failing a transient one at once
 * loses a night.
 */
export type FailureClass = 'permanent' | 'transient';

/** Codes of reindex's own errors (core) that another attempt can fix: the store, Redis or the network. */
const TRANSIENT_REINDEX_CODES: ReadonlySet<string> = new Set([
  'ENDPOINT_UNREACHABLE',
  'STORE_IO',
  'OBJECT_NOT_FOUND',
  'CATALOGUE_LIST_FAILED',
  'REDIS_UNAVAILABLE',
  // a build's own intermediate read back wrong: read again, or redo it
  'BUILD_INTEGRITY',
]);

/** Item-tower codes that depend on the machine or the process, not on the bundle or the rows. */
const TRANSIENT_ITEM_TOWER_CODES: ReadonlySet<string> = new Set(['EXECUTION_PROVIDER_UNAVAILABLE', 'INFERENCE_FAILED', 'EMBEDDER_CLOSED']);

/**
 * Node system error codes that name a path that cannot work (permissions, a file where a
 * directory should be, a read-only file system). Sockets, DNS, descriptors and disk space
 * (ECONNRESET, EAI_AGAIN, EMFILE, ENOSPC, ...) come back, so they stay transient.
 */
const PERMANENT_SYSTEM_CODES: ReadonlySet<string> = new Set(['EACCES', 'EPERM', 'EISDIR', 'ENOTDIR', 'ELOOP', 'ENAMETOOLONG', 'EROFS']);

/** faiss codes of this machine's state (memory, disk, a handle closed under a job), not of the index or the input. */
const TRANSIENT_FAISS_CODES: ReadonlySet<string> = new Set(['CLOSED', 'OUT_OF_MEMORY', 'NO_SPACE']);

export function classifyFailure(error: unknown): FailureClass {
  if (error instanceof JobDataError || error instanceof QualityGateError || error instanceof VersionError) return 'permanent';
  // Item-tower and faiss errors are ReindexErrors with their own transient codes: ask them first.
  if (error instanceof ItemTowerError) return TRANSIENT_ITEM_TOWER_CODES.has(error.code) ? 'transient' : 'permanent';
  if (error instanceof FaissError) return TRANSIENT_FAISS_CODES.has(error.code) ? 'transient' : 'permanent';
  if (error instanceof ReindexError) return TRANSIENT_REINDEX_CODES.has(error.code) ? 'transient' : 'permanent';
  // A stack overflow on user data overflows again on every attempt.
  if (error instanceof RangeError && /Maximum call stack size exceeded/.test(error.message)) return 'permanent';
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && PERMANENT_SYSTEM_CODES.has(code)) return 'permanent';
  return 'transient';
}
