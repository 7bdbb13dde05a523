import { ReindexError } from '@reindex/core';

/** Stable codes for every error this package raises; the native side sets them (native/errors.h). */
export type FaissErrorCode =
  /** An argument was rejected before any work started (type, length, range, an index that cannot do it). */
  | 'INVALID_ARGUMENT'
  /** faiss itself raised an exception (unknown factory string, corrupt file, incompatible merge). */
  | 'FAISS'
  /** The index handle was closed. */
  | 'CLOSED'
  /** This machine ran out of memory. */
  | 'OUT_OF_MEMORY'
  /** The disk (or quota) under a file being written is full. */
  | 'NO_SPACE'
  /** Another failed system call on a file (permissions, a missing directory). */
  | 'IO';

const CODES: ReadonlySet<string> = new Set<FaissErrorCode>(['INVALID_ARGUMENT', 'FAISS', 'CLOSED', 'OUT_OF_MEMORY', 'NO_SPACE', 'IO']);

export class FaissError extends ReindexError {
  declare readonly code: FaissErrorCode;
  constructor(code: FaissErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

// faiss prefixes its messages with the C++ function and source location
// ("Error in void faiss::X() at /path/File.cpp:59: Error: 'cond' failed: text"); users want the
// text, the location stays in `cause`.
const faissLocation = /Error in .*? at [^\s]+:\d+: (?:Error: '.*?' failed: )?/s;

/**
 * Maps any error coming out of the addon to a FaissError by the code the native side set (a
 * TypeError or RangeError of an argument check is INVALID_ARGUMENT): the one place native errors
 * are mapped.
 */
export function toFaissError(error: unknown): FaissError {
  if (error instanceof FaissError) return error;
  const err = error instanceof Error ? error : new Error(String(error));
  const native = (err as { code?: unknown }).code;
  const code: FaissErrorCode =
    typeof native === 'string' && CODES.has(native)
      ? (native as FaissErrorCode)
      : err instanceof TypeError || err instanceof RangeError
        ? 'INVALID_ARGUMENT'
        : 'FAISS';
  return new FaissError(code, err.message.replace(faissLocation, ''), { cause: err });
}

/** Runs a native call (sync or async) and maps whatever it throws. */
export async function mapped<T>(call: () => T | Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw toFaissError(error);
  }
}

export function mappedSync<T>(call: () => T): T {
  try {
    return call();
  } catch (error) {
    throw toFaissError(error);
  }
}
