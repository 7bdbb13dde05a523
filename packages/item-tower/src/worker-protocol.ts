/** Messages between `worker-session.ts` (main thread) and `inference-worker.ts`. Internal. */
import type { ModelValueInfo } from './model-io.js';

export interface WorkerInit {
  modelPath: string;
  executionProvider: 'cpu' | 'cuda';
  onProviderUnavailable: 'error' | 'fallback-to-cpu';
  cudaDeviceId: number;
  intraOpThreads: number;
  interOpThreads: number;
  threadSpinning: boolean;
}

export interface WorkerFeed {
  name: string;
  dtype: 'int64' | 'int32' | 'float32';
  dims: number[];
  data: BigInt64Array | Int32Array | Float32Array;
}

export interface WorkerRun {
  type: 'run';
  seq: number;
  output: string;
  feeds: WorkerFeed[];
}

export type WorkerReply =
  | { type: 'ready'; provider: string; warning: string | null; inputs: ModelValueInfo[]; outputs: ModelValueInfo[] }
  | { type: 'init-error'; message: string; providerUnavailable: boolean }
  | { type: 'result'; seq: number; data: Float32Array; dims: number[]; inferenceMs: number }
  | { type: 'run-error'; seq: number; message: string };
