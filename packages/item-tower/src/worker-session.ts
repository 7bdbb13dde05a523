/**
 * Main-thread handle on an onnxruntime session living in a worker thread (see
 * `inference-worker.ts` for why). Runs are queued in the worker in submission order, so the
 * caller can submit batch n+1 (after featurizing it) while batch n computes.
 */
import { Worker } from 'node:worker_threads';
import type { ModelValueInfo } from './model-io.js';
import type { SessionOptions } from './session-options.js';
import type { WorkerFeed, WorkerReply } from './worker-protocol.js';
import { ExecutionProviderError, InferenceError, ItemTowerError } from './errors.js';

export interface RunResult {
  data: Float32Array;
  dims: number[];
  /** Time onnxruntime spent in `session.run`, measured in the worker. */
  inferenceMs: number;
}

interface Pending {
  resolve: (r: RunResult) => void;
  reject: (e: Error) => void;
}

export class WorkerSession {
  private seq = 0;
  private readonly pending = new Map<number, Pending>();
  private closed = false;
  private failure: Error | null = null;

  private constructor(
    private readonly worker: Worker,
    readonly modelPath: string,
    /** Provider actually in use ('cpu' after a fallback). */
    readonly provider: string,
    readonly inputs: readonly ModelValueInfo[],
    readonly outputs: readonly ModelValueInfo[],
  ) {
    worker.on('message', (reply: WorkerReply) => this.onReply(reply));
    worker.on('error', (error) =>
      this.fail(new InferenceError('INFERENCE_FAILED', `inference worker for ${modelPath} crashed: ${error.message}`, { cause: error })),
    );
    worker.on('exit', (code) => {
      if (!this.closed) this.fail(new InferenceError('INFERENCE_FAILED', `inference worker for ${modelPath} exited with code ${code}`));
    });
  }

  /** Starts a worker and opens the model in it; rejects with a clear error when it cannot. */
  static async open(modelPath: string, options: SessionOptions): Promise<WorkerSession> {
    const worker = new Worker(new URL('./inference-worker.js', import.meta.url), {
      workerData: {
        modelPath,
        executionProvider: options.executionProvider,
        onProviderUnavailable: options.onProviderUnavailable,
        cudaDeviceId: options.cudaDeviceId,
        intraOpThreads: options.intraOpThreads,
        interOpThreads: options.interOpThreads,
        threadSpinning: options.threadSpinning,
      },
    });
    const ready = await new Promise<WorkerReply>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    }).catch((cause: unknown) => {
      throw new InferenceError('INFERENCE_FAILED', `cannot start the inference worker for ${modelPath}`, { cause });
    });
    if (ready.type === 'init-error') {
      await worker.terminate();
      if (ready.providerUnavailable) {
        throw new ExecutionProviderError(
          'EXECUTION_PROVIDER_UNAVAILABLE',
          `executionProvider "cuda" is not available for ${modelPath}: ${ready.message}. Install onnxruntime-node's CUDA libraries on a GPU machine, use executionProvider "cpu", or set onProviderUnavailable "fallback-to-cpu"`,
        );
      }
      throw new InferenceError('INFERENCE_FAILED', `onnxruntime cannot load ${modelPath}: ${ready.message}`);
    }
    if (ready.type !== 'ready') throw new InferenceError('INFERENCE_FAILED', `unexpected first message from the inference worker: ${ready.type}`);
    if (ready.warning !== null) options.logger.warn(ready.warning);
    return new WorkerSession(worker, modelPath, ready.provider, ready.inputs, ready.outputs);
  }

  /**
   * Queues one run. `feeds` data is transferred to the worker: callers pass copies they no
   * longer need (the batch buffers themselves stay with the featurizer).
   */
  run(feeds: WorkerFeed[], output: string): Promise<RunResult> {
    if (this.failure !== null) return Promise.reject(this.failure);
    if (this.closed) return Promise.reject(new ItemTowerError('EMBEDDER_CLOSED', `session for ${this.modelPath} is closed`));
    const seq = this.seq++;
    return new Promise<RunResult>((resolve, reject) => {
      this.pending.set(seq, { resolve, reject });
      this.worker.postMessage(
        { type: 'run', seq, output, feeds },
        feeds.map((f) => f.data.buffer as ArrayBuffer),
      );
    });
  }

  private onReply(reply: WorkerReply): void {
    if (reply.type !== 'result' && reply.type !== 'run-error') return;
    const p = this.pending.get(reply.seq);
    if (p === undefined) return;
    this.pending.delete(reply.seq);
    if (reply.type === 'result') {
      p.resolve({ data: reply.data, dims: reply.dims, inferenceMs: reply.inferenceMs });
    } else {
      p.reject(new InferenceError('INFERENCE_FAILED', `onnxruntime failed running ${this.modelPath}: ${reply.message}`));
    }
  }

  private fail(error: Error): void {
    this.failure = error;
    for (const p of this.pending.values()) p.reject(error);
    this.pending.clear();
  }

  /** Releases the session and stops the worker. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.fail(new ItemTowerError('EMBEDDER_CLOSED', `session for ${this.modelPath} was closed with runs pending`));
    this.failure = null;
    const exited = new Promise<void>((resolve) => this.worker.once('exit', () => resolve()));
    this.worker.postMessage({ type: 'close' });
    // A worker stuck in native code would never exit on its own; do not hang shutdown on it.
    const timer = setTimeout(() => void this.worker.terminate(), 5000);
    await exited;
    clearTimeout(timer);
  }
}

/** Indices (along dim 0) of the rows of `data` that hold a NaN or an infinity. */
export function nonFiniteRows(data: Float32Array, rows: number): number[] {
  const bad: number[] = [];
  const rowSize = rows > 0 ? data.length / rows : 0;
  for (let r = 0; r < rows; r++) {
    for (let k = r * rowSize, end = k + rowSize; k < end; k++) {
      const v = data[k] as number;
      // v - v is NaN exactly for NaN and ±Inf: one subtraction per value.
      if (v - v !== 0) {
        bad.push(r);
        break;
      }
    }
  }
  return bad;
}
