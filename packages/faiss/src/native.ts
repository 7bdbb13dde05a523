import type { TrainOptions } from './options.js';
import { createRequire } from 'node:module';

/** The shape of the compiled addon (native/*.cc); only this package talks to it. */
export interface NativeIndex {
  readonly ntotal: number;
  readonly dim: number;
  readonly isTrained: boolean;
  train(x: Float32Array, options: Required<TrainOptions>): Promise<void>;
  addWithIds(x: Float32Array, ids: BigInt64Array): Promise<void>;
  removeIds(ids: BigInt64Array): Promise<number>;
  search(q: Float32Array, k: number, nprobe?: number): Promise<{ distances: Float32Array; labels: BigInt64Array }>;
  toBuffer(): Promise<Buffer>;
  write(path: string): Promise<void>;
  clone(): Promise<NativeIndex>;
  mergeFrom(other: NativeIndex): Promise<void>;
  close(): Promise<void>;
  describe(): NativeDescription;
}

export interface NativeDescription {
  type: string;
  metric: 'ip' | 'l2';
  nlist?: number;
  codeSize?: number;
  onDiskDataFile?: string;
  readOnly: boolean;
}

export interface NativeModule {
  fromFactory(dim: number, factory: string, metric: string): NativeIndex;
  readFile(path: string, mmap: boolean): Promise<NativeIndex>;
  fromBuffer(bytes: Uint8Array): Promise<NativeIndex>;
  mergeOnDisk(trained: string, parts: string[], outIndex: string, data: string): Promise<{ ntotal: number; dataBytes: number }>;
  setThreads(n: number): void;
  getThreads(): number;
  getBlasThreads(): number;
  tasksInFlight(): number;
  setBlasThreshold(n: number): void;
  getBlasThreshold(): number;
  readonly simd: 'avx2' | 'generic';
}

const require = createRequire(import.meta.url);
// dist/native.js → ../native/build/Release: the addon is built in place by scripts/build-native.mjs.
export const native: NativeModule = require('../native/build/Release/reindex_faiss.node') as NativeModule;
