/** Stable codes for every error this package raises. */
export type FaissErrorCode =
  /** An argument was rejected before any work started (type, length, range). */
  | 'INVALID_ARGUMENT'
  /** faiss itself raised an exception (unknown factory string, corrupt file, incompatible merge). */
  | 'FAISS'
  /** The index handle was closed. */
  | 'CLOSED';

export class FaissError extends Error {
  override readonly name = 'FaissError';
  constructor(
    readonly code: FaissErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

// faiss prefixes its messages with the C++ function and source location
// ("Error in void faiss::X() at /path/File.cpp:59: Error: 'cond' failed: text"); users want the
// text, the location stays in `cause`.
const faissLocation = /Error in .*? at [^\s]+:\d+: (?:Error: '.*?' failed: )?/s;

/** Maps any error coming out of the addon to a FaissError: the one place native errors are mapped. */
export function toFaissError(error: unknown): FaissError {
  if (error instanceof FaissError) return error;
  const err = error instanceof Error ? error : new Error(String(error));
  if (/the index was closed/.test(err.message)) return new FaissError('CLOSED', 'the index was closed', { cause: err });
  if (err instanceof TypeError || err instanceof RangeError) {
    return new FaissError('INVALID_ARGUMENT', err.message, { cause: err });
  }
  const isArgument = /^(\w+: )?(the index is not trained|.* must be |.* vectors but \d+ ids|queries × k)/.test(err.message);
  return new FaissError(isArgument ? 'INVALID_ARGUMENT' : 'FAISS', err.message.replace(faissLocation, ''), { cause: err });
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
