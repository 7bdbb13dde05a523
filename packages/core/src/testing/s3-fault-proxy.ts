import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** Faults an S3 front end injects, each at its own rate (0..1) per request. */
export interface S3FaultRates {
  /** 503 SlowDown (S3's throttling answer), before the server sees the request. */
  slowDown?: number;
  /** 500 InternalError, before the server sees the request. */
  internalError?: number;
  /** Connection reset before the request reaches the server (it never ran). */
  resetBefore?: number;
  /** Connection reset after the server executed the request, before the client got the answer. */
  resetAfter?: number;
  /**
   * A response body cut off halfway (headers announce the whole length, then the connection
   * closes). Applies to answers that carry a body of 2 bytes or more (GETs); others pass.
   */
  truncatedBody?: number;
  /** A response body that stalls halfway for `slowBodyPauseMs` before the rest follows. */
  slowBody?: number;
}

export interface S3FaultProxyOptions {
  /** How long a slow body stalls. Default 300 ms. */
  slowBodyPauseMs?: number;
  /**
   * Called for every request before any fault is applied (e.g. to kill a process the moment it
   * starts uploading a given key). `path` is the request path, query string included.
   */
  onRequest?: (method: string, path: string) => void;
}

const FAULT_KINDS = ['slowDown', 'internalError', 'resetBefore', 'resetAfter', 'truncatedBody', 'slowBody'] as const;

export interface S3FaultProxy {
  /** `http://127.0.0.1:<port>`: use it as the S3 endpoint. */
  endpoint: string;
  /** Requests seen and faults injected, by kind. */
  readonly counts: { requests: number } & Required<Record<keyof S3FaultRates, number>>;
  stop(): Promise<void>;
}

/**
 * An HTTP proxy in front of an S3-protocol server (s3rver in tests) that fails a share of the
 * requests the ways S3 and networks do: throttling, internal errors, connections reset before or
 * after the server acted, bodies cut short or stalled mid-way. Deterministic for a seed, so a
 * failing run can be replayed.
 */
export async function startS3FaultProxy(target: string, rates: S3FaultRates, seed = 1, options: S3FaultProxyOptions = {}): Promise<S3FaultProxy> {
  const slowBodyPauseMs = options.slowBodyPauseMs ?? 300;
  const upstream = new URL(target);
  let state = seed >>> 0 || 1;
  const random = () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 2 ** 32;
  };
  const counts = { requests: 0, slowDown: 0, internalError: 0, resetBefore: 0, resetAfter: 0, truncatedBody: 0, slowBody: 0 };
  const pick = (): keyof S3FaultRates | undefined => {
    let r = random();
    for (const kind of FAULT_KINDS) {
      const rate = rates[kind] ?? 0;
      if (r < rate) return kind;
      r -= rate;
    }
    return undefined;
  };
  const server = http.createServer((req, res) => {
    counts.requests++;
    options.onRequest?.(req.method ?? 'GET', req.url ?? '/');
    const fault = pick();
    // Body faults are counted when a body was there to spoil; the others always apply.
    if (fault && fault !== 'truncatedBody' && fault !== 'slowBody') counts[fault]++;
    const error = (status: number, code: string, message: string) => {
      req.resume();
      res.writeHead(status, { 'content-type': 'application/xml' });
      res.end(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${message}</Message><RequestId>fault-proxy</RequestId></Error>`);
    };
    if (fault === 'slowDown') return error(503, 'SlowDown', 'Please reduce your request rate.');
    if (fault === 'internalError') return error(500, 'InternalError', 'We encountered an internal error. Please try again.');
    if (fault === 'resetBefore') {
      req.socket.destroy();
      return;
    }
    const forward = http.request({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
      if (fault === 'resetAfter') {
        answer.resume();
        answer.once('end', () => req.socket.destroy());
        return;
      }
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      const length = Number(answer.headers['content-length'] ?? 0);
      if ((fault === 'truncatedBody' || fault === 'slowBody') && length >= 2) {
        counts[fault]++;
        void spoilBody(answer, res, length, fault === 'truncatedBody' ? 'cut' : slowBodyPauseMs);
        return;
      }
      answer.pipe(res);
    });
    forward.on('error', () => req.socket.destroy());
    req.pipe(forward);
  });
  server.keepAliveTimeout = 1000;
  server.on('clientError', (_error, socket) => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    counts,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * Sends the first half of `answer`'s body, then either cuts the connection (`'cut'`) or waits the
 * given milliseconds and sends the rest.
 */
async function spoilBody(answer: http.IncomingMessage, res: http.ServerResponse, length: number, after: 'cut' | number): Promise<void> {
  const half = Math.floor(length / 2);
  let sent = 0;
  try {
    for await (const chunk of answer as AsyncIterable<Buffer>) {
      if (sent < half && sent + chunk.length >= half) {
        res.write(chunk.subarray(0, half - sent));
        if (after === 'cut') {
          res.socket?.destroy();
          answer.destroy();
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, after));
        res.write(chunk.subarray(half - sent));
      } else {
        res.write(chunk);
      }
      sent += chunk.length;
    }
    res.end();
  } catch {
    res.socket?.destroy();
  }
}
