/** Options of an onnxruntime session run in the inference worker. */
import type { InferenceSession } from 'onnxruntime-node';

/** Where a model runs. */
export type ExecutionProvider = 'cpu' | 'cuda';

/** Minimal logger; `console` fits. */
export interface Logger {
  warn(message: string): void;
}

export interface SessionOptions {
  /**
   * Execution provider. Default 'cpu'. 'cuda' needs onnxruntime-node's CUDA libraries (installed
   * by its install script with ONNXRUNTIME_NODE_INSTALL_CUDA, see README) and an NVIDIA GPU.
   */
  executionProvider: ExecutionProvider;
  /** What to do when 'cuda' cannot be used: 'error' (default) fails; 'fallback-to-cpu' logs a warning and runs on CPU. */
  onProviderUnavailable: 'error' | 'fallback-to-cpu';
  /** CUDA device ordinal. Default 0. */
  cudaDeviceId: number;
  /**
   * Threads onnxruntime uses inside one operator (the GEMMs). Default 0 = onnxruntime's choice
   * (one per physical core). Set it to the cores you give this worker; more than that only adds
   * contention with featurization on the main thread.
   */
  intraOpThreads: number;
  /** Threads across independent operators. Default 1 (the towers are a chain; parallelism lives in intra-op). */
  interOpThreads: number;
  /**
   * Let onnxruntime's pool threads spin-wait between operators. Default false: spinning shaves
   * latency off a lone run but burns the CPU the main thread needs to featurize the next batch.
   */
  threadSpinning: boolean;
  /** Where provider fallbacks are reported. Default `console`. */
  logger: Logger;
}

export const SESSION_DEFAULTS: Readonly<SessionOptions> = Object.freeze({
  executionProvider: 'cpu',
  onProviderUnavailable: 'error',
  cudaDeviceId: 0,
  intraOpThreads: 0,
  interOpThreads: 1,
  threadSpinning: false,
  logger: console,
});

/**
 * The onnxruntime options our sessions are created with (execution providers aside). Exported so
 * that `bench:embed` runs onnxruntime alone exactly as the pipeline's worker does.
 */
export function onnxSessionOptions(o: Pick<SessionOptions, 'intraOpThreads' | 'interOpThreads' | 'threadSpinning'>): InferenceSession.SessionOptions {
  const spinning = o.threadSpinning ? '1' : '0';
  return {
    intraOpNumThreads: o.intraOpThreads,
    interOpNumThreads: o.interOpThreads,
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    // Memory patterns off. onnxruntime plans a pattern for one set of input shapes; a run with
    // another batch length (every batch that lost a rejected row, every shard's last batch)
    // pays for a new one. Measured on the reference tower, 1 thread: 6.35 µs/item at a
    // constant 512 rows either way, but 10.2 µs/item (+60%) with lengths varying around 512 when
    // on, 6.3 when off.
    enableMemPattern: false,
    // onnxruntime's pool threads spin between ops by default, which takes CPU from the main
    // thread featurizing the next batch; off unless asked for.
    extra: { session: { intra_op: { allow_spinning: spinning }, inter_op: { allow_spinning: spinning } } },
  };
}
