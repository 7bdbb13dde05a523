import type { S3Options } from '@reindex/core';
import { DEFAULT_QUEUE_PREFIX } from '@reindex/queue';
import { ReindexError } from '@reindex/core';

/** Options of {@link startDashboard}. */
export interface DashboardOptions {
  /** `redis://` URL of the pipeline's queues. Required. */
  redisUrl: string;
  /**
   * Object store the builds publish to (`file://` or `s3://`). Optional: each build's store is
   * also named in its jobs' data. With it, builds are also discovered from `builds/` and the
   * published versions are listed even when Redis has forgotten the builds.
   */
  storeUrl?: string;
  /** Endpoint, path style and credentials for `s3://` stores (the reindex config's `s3`). Default: the AWS SDK's chain. */
  s3?: S3Options;
  /** Interface to bind. Default `127.0.0.1`; any other address requires `token`. */
  host: string;
  /** TCP port. Default 3000; 0 picks a free port (tests). */
  port: number;
  /**
   * Shared secret for the API, pages and actions (Bearer header, or HTTP basic auth with it
   * as the password). Required beyond loopback; when set, required on loopback too.
   */
  token?: string;
  /** BullMQ key prefix. Default `reindex`. */
  prefix: string;
  /** Builds shown in the list, newest first. Default 20. */
  recentBuilds: number;
  /** Server-side cache of a build's state, shared by every viewer. Default 1,000 ms. */
  snapshotTtlMs: number;
  /** How often the page polls, told to the page. Default 1,500 ms (≤ 2 s). */
  pollMs: number;
}

export const DEFAULT_DASHBOARD_OPTIONS = Object.freeze({
  host: '127.0.0.1',
  port: 3000,
  prefix: DEFAULT_QUEUE_PREFIX,
  recentBuilds: 20,
  snapshotTtlMs: 1_000,
  pollMs: 1_500,
} satisfies Omit<DashboardOptions, 'redisUrl'>);

export class DashboardConfigError extends ReindexError {
  constructor(message: string) {
    super('DASHBOARD_CONFIG', message);
  }
}

/** Loopback addresses: the only ones the dashboard binds to without a token. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127(\.\d{1,3}){3}$/.test(h) || h === '::ffff:127.0.0.1';
}

/** Validates options: a non-loopback bind without a token is refused, naming the flag. */
export function resolveDashboardOptions(input: Partial<DashboardOptions> & { redisUrl: string }): DashboardOptions {
  const options: DashboardOptions = { ...DEFAULT_DASHBOARD_OPTIONS, ...input };
  if (options.token !== undefined && options.token.length < 8) {
    throw new DashboardConfigError('the dashboard token (--token / REINDEX_DASHBOARD_TOKEN) must be at least 8 characters');
  }
  if (!isLoopbackHost(options.host) && !options.token) {
    throw new DashboardConfigError(
      `refusing to bind the dashboard to ${options.host} without a token: set REINDEX_DASHBOARD_TOKEN (or --token), or bind to 127.0.0.1`,
    );
  }
  if (!Number.isInteger(options.port) || options.port < 0 || options.port > 65535) {
    throw new DashboardConfigError(`--port must be an integer 0..65535, got ${options.port}`);
  }
  return options;
}
