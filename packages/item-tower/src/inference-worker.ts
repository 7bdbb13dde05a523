/**
 * Worker thread entry that owns one onnxruntime session. onnxruntime-node's `session.run`
 * returns a promise but computes synchronously on the calling thread, so running it here keeps
 * the main thread's event loop (BullMQ lock renewals, featurization of the next batch) free.
 * Protocol: see `worker-session.ts`.
 */
import { parentPort, workerData } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';
import type { WorkerInit, WorkerReply, WorkerRun } from './worker-protocol.js';
import { onnxSessionOptions } from './session-options.js';
import { InferenceError } from './errors.js';

const init = workerData as WorkerInit;
const port = parentPort!;

async function createSession(): Promise<{ session: ort.InferenceSession; provider: string; warning: string | null }> {
  const base = onnxSessionOptions(init);
  if (init.executionProvider === 'cuda') {
    try {
      const session = await ort.InferenceSession.create(init.modelPath, {
        ...base,
        executionProviders: [{ name: 'cuda', deviceId: init.cudaDeviceId }],
      });
      return { session, provider: 'cuda', warning: null };
    } catch (cause) {
      const reason = cause instanceof Error ? cause.message : String(cause);
      if (init.onProviderUnavailable !== 'fallback-to-cpu') throw Object.assign(new Error(reason), { providerUnavailable: true });
      const session = await ort.InferenceSession.create(init.modelPath, { ...base, executionProviders: ['cpu'] });
      return { session, provider: 'cpu', warning: `CUDA execution provider unavailable for ${init.modelPath} (${reason}); running on CPU` };
    }
  }
  const session = await ort.InferenceSession.create(init.modelPath, { ...base, executionProviders: ['cpu'] });
  return { session, provider: 'cpu', warning: null };
}

function post(reply: WorkerReply, transfer: ArrayBuffer[] = []): void {
  port.postMessage(reply, transfer);
}

try {
  const { session, provider, warning } = await createSession();
  const describe = (v: ort.InferenceSession.ValueMetadata) =>
    v.isTensor ? { name: v.name, isTensor: true, type: v.type, shape: [...v.shape] } : { name: v.name, isTensor: false };
  post({
    type: 'ready',
    provider,
    warning,
    inputs: session.inputMetadata.map(describe),
    outputs: session.outputMetadata.map(describe),
  });
  // Runs one at a time from a queue, so `inferenceMs` measures a run, not time spent queued.
  const queue: WorkerRun[] = [];
  let busy = false;
  let closing = false;
  const pump = async (): Promise<void> => {
    if (busy) return;
    busy = true;
    while (queue.length > 0) await run(session, queue.shift()!);
    busy = false;
    if (closing) void session.release().finally(() => port.close());
  };
  port.on('message', (msg: WorkerRun | { type: 'close' }) => {
    if (msg.type === 'close') {
      closing = true;
      queue.length = 0;
      if (!busy) void session.release().finally(() => port.close());
      return;
    }
    queue.push(msg);
    void pump();
  });
} catch (cause) {
  const error = cause as Error & { providerUnavailable?: boolean };
  post({ type: 'init-error', message: error.message, providerUnavailable: error.providerUnavailable === true });
}

async function run(session: ort.InferenceSession, msg: WorkerRun): Promise<void> {
  try {
    const feeds: Record<string, ort.Tensor> = {};
    for (const f of msg.feeds) feeds[f.name] = new ort.Tensor(f.dtype, f.data, f.dims);
    const started = performance.now();
    const out = await session.run(feeds, [msg.output]);
    const inferenceMs = performance.now() - started;
    const tensor = out[msg.output];
    if (tensor === undefined || tensor.type !== 'float32') {
      throw new InferenceError('INFERENCE_FAILED', `output "${msg.output}" missing or not float32`);
    }
    // Hand onnxruntime's output buffer over without copying when it holds just this tensor.
    // (NaN/Inf checks run on the main thread: this thread is onnxruntime's critical path.)
    const out32 = tensor.data as Float32Array;
    const data = out32.byteOffset === 0 && out32.buffer.byteLength === out32.byteLength ? out32 : out32.slice();
    const dims = tensor.dims.map(Number);
    post({ type: 'result', seq: msg.seq, data, dims, inferenceMs }, [data.buffer as ArrayBuffer]);
  } catch (cause) {
    post({ type: 'run-error', seq: msg.seq, message: cause instanceof Error ? cause.message : String(cause) });
  }
}
