import { mappedSync } from './errors.js';
import { native } from './native.js';

/**
 * Threads faiss uses inside one call (OpenMP). Default 0: one per core. Process-wide; applied
 * to every call that starts after this one.
 */
export function setThreads(threads: number): void {
  mappedSync(() => native.setThreads(threads));
}

export function getThreads(): number {
  return native.getThreads();
}

/**
 * Threads OpenBLAS was last told to use: each faiss call sets it to the faiss thread count
 * (OpenBLAS's own default is every core, beside OpenMP's pool). 0 before the first call, or
 * when faiss is linked against another BLAS.
 */
export function getBlasThreads(): number {
  return native.getBlasThreads();
}

/**
 * faiss computes exact distances with BLAS once a call has at least this many query vectors,
 * with its own SIMD loops below (faiss default 20). Process-wide in faiss.
 */
export function setDistanceBlasThreshold(queries: number): void {
  mappedSync(() => native.setBlasThreshold(queries));
}

export function getDistanceBlasThreshold(): number {
  return native.getBlasThreshold();
}

/** Which faiss build the addon is linked against: `avx2` (built by scripts/build-faiss.sh) or `generic`. */
export const faissSimd: 'avx2' | 'generic' = native.simd;

/** Native calls queued or running (train, add, search, merge...): 0 when nothing runs in faiss. */
export function nativeTasksInFlight(): number {
  return native.tasksInFlight();
}

/**
 * Resolves once no native call runs, or after `timeoutMs`: a process about to exit waits here,
 * because exiting while faiss's OpenMP teams run can crash in teardown instead of exiting 0.
 */
export async function nativeTasksSettled(timeoutMs = 30_000, pollMs = 50): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (native.tasksInFlight() > 0) {
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
  return true;
}
