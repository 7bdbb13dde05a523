#!/usr/bin/env node
// reindex-dashboard: web UI, JSON API and Prometheus metrics of reindex builds.
//   REDIS_URL=redis://... reindex-dashboard [--host 127.0.0.1] [--port 3000] [--store URL] [--token T]
// Binding beyond loopback needs a token (REINDEX_DASHBOARD_TOKEN, preferred to --token, which
// other users can read in the process list). Logs are JSON lines (pino) on stdout.
import { parseArgs } from 'node:util';
import { RedisUnavailableError } from '@reindex/queue';
import { createLogger } from '@reindex/pipeline';
import { DEFAULT_DASHBOARD_OPTIONS, DashboardConfigError } from './options.js';
import { startDashboard } from './server.js';
import { emptyFlag, loadConfig, commandLineArgs, parseIntegerFlag } from '@reindex/core';

const USAGE =
  'usage: reindex-dashboard [--host 127.0.0.1] [--port 3000] [--redis URL (or REDIS_URL)] [--store URL (or REINDEX_STORE_URL)] [--config FILE (store.url from the reindex config)] [--token T (or REINDEX_DASHBOARD_TOKEN)] [--prefix reindex]';
function fail(message: string): never {
  process.stderr.write(`reindex-dashboard: ${message}\n${USAGE}\n`);
  process.exit(2);
}
let values: Record<string, string | boolean | undefined>;
try {
  ({ values } = parseArgs({
    args: commandLineArgs(),
    options: {
      host: { type: 'string' },
      port: { type: 'string' },
      redis: { type: 'string' },
      store: { type: 'string' },
      config: { type: 'string' },
      token: { type: 'string' },
      prefix: { type: 'string' },
      help: { type: 'boolean' },
    },
  }));
} catch (error) {
  fail((error as Error).message);
}
const empty = emptyFlag(values);
if (empty !== undefined) fail(`--${empty} must not be empty`);
if (values.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}
const str = (k: string) => values[k] as string | undefined;
const redisUrl = str('redis') ?? process.env.REDIS_URL;
if (!redisUrl) fail("set REDIS_URL (or --redis) to the queue's redis:// URL");
const portRaw = str('port') ?? process.env.PORT;
const parsedPort = portRaw === undefined ? DEFAULT_DASHBOARD_OPTIONS.port : parseIntegerFlag('port', portRaw, { min: 0, max: 65535 });
const port = typeof parsedPort === 'number' ? parsedPort : fail(parsedPort.problem);
const token = str('token') ?? process.env.REINDEX_DASHBOARD_TOKEN ?? undefined;
const config = str('config') ? await loadConfig(str('config')).catch((error: Error) => fail(error.message)) : undefined;
const storeUrl = str('store') ?? process.env.REINDEX_STORE_URL ?? config?.store.url;
const logger = createLogger('reindex-dashboard');
try {
  const dashboard = await startDashboard({
    redisUrl,
    port,
    logger,
    host: str('host') ?? DEFAULT_DASHBOARD_OPTIONS.host,
    ...(token ? { token } : {}),
    ...(storeUrl ? { storeUrl: /^[a-z0-9]+:\/\//i.test(storeUrl) ? storeUrl : `file://${(await import('node:path')).resolve(storeUrl)}` } : {}),
    ...(str('prefix') ? { prefix: str('prefix') } : {}),
    ...(config ? { s3: config.s3 } : {}),
  });
  process.stderr.write(`reindex-dashboard: ${dashboard.url}/ (queues: ${dashboard.url}/queues, metrics: ${dashboard.url}/metrics)\n`);
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      logger.info({ signal }, 'reindex-dashboard stopping');
      void dashboard.close().finally(() => process.exit(0));
    });
  }
} catch (error) {
  if (error instanceof DashboardConfigError || error instanceof RedisUnavailableError) fail(error.message);
  throw error;
}
