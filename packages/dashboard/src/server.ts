import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { Redis } from 'ioredis';
import { STAGES, assertBuildId, assertRedisReachable, createRedis, redactRedisUrl, type StageName } from '@reindex/queue';
import { BuildQueues, createLogger, type Logger } from '@reindex/pipeline';
import { ActionError, cancelBuild, readCancelled, retryJob, type ActionContext } from './actions.js';
import { requireActionHeader, requireLoopbackHostHeader, requireToken } from './auth.js';
import { readBuildLog } from './build-log.js';
import { BuildReader, type BuildView } from './builds.js';
import { DashboardMetrics } from './metrics.js';
import { isLoopbackHost, resolveDashboardOptions, type DashboardOptions } from './options.js';
import { PublishedVersions, type IndexVersions } from './published.js';
import { redactUrl } from './redact.js';
import { liveWorkers } from './workers.js';

export interface RunningDashboard {
  /** Base URL (`http://127.0.0.1:3000`); the build page is at `/`, bull-board at `/queues`. */
  readonly url: string;
  /** Stops serving and closes its Redis connections and stores; idempotent. */
  close(): Promise<void>;
}

/** The static page (public/ beside dist/). */
const PUBLIC_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../public');

export function buildSummary(b: BuildView) {
  return {
    buildId: b.buildId,
    name: b.name,
    version: b.version,
    status: b.status,
    failure: b.failure,
    fraction: b.progress.fraction,
    items: b.progress.items,
    shards: b.stages.shard,
    startedAt: b.startedAt,
    elapsedSeconds: b.elapsedSeconds,
  };
}

/**
 * Starts the dashboard: build page at `/`, JSON API under `/api`, bull-board at `/queues`,
 * Prometheus at `/metrics`, `/healthz` open to probes. Throws DashboardConfigError for a
 * non-loopback bind without a token, RedisUnavailableError when Redis cannot be reached.
 */
export async function startDashboard(input: Partial<DashboardOptions> & { redisUrl: string; logger?: Logger }): Promise<RunningDashboard> {
  const options = resolveDashboardOptions(input);
  const logger = input.logger ?? createLogger('reindex-dashboard');
  await assertRedisReachable(options.redisUrl);
  // The queues as the coordinator drives them: retry resumes a build's flow through them.
  const buildQueues = new BuildQueues(options.redisUrl, options.prefix);
  const queues = buildQueues.queues;
  const redis = createRedis(options.redisUrl);
  redis.on('error', (error) => logger.warn({ err: error.message }, 'redis connection error'));
  const reader = new BuildReader(queues, {
    ...(options.storeUrl ? { storeUrl: options.storeUrl } : {}),
    ...(options.s3 ? { s3: options.s3 } : {}),
    snapshotTtlMs: options.snapshotTtlMs,
    isCancelled: (id) => readCancelled(redis, options.prefix, id),
  });
  const recentBuilds = async (): Promise<BuildView[]> => {
    const ids = await reader.listBuildIds(options.recentBuilds);
    return Promise.all(ids.map((id) => reader.snapshot(id)));
  };
  const metrics = new DashboardMetrics(queues, {
    builds: async () => {
      const byStatus: Record<string, number> = {};
      for (const b of await recentBuilds()) byStatus[b.status] = (byStatus[b.status] ?? 0) + 1;
      return byStatus;
    },
    workers: async () => (await liveWorkers(redis, options.prefix, queues.shard)).length,
  });
  const deps: Deps = {
    options,
    logger,
    redis,
    queues,
    reader,
    metrics,
    recentBuilds,
    actions: { redis, prefix: options.prefix, queues, build: buildQueues, store: (url) => reader.store(url) },
  };

  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', false);
  app.use(countRequests(metrics));
  app.get('/healthz', async (_req, res) => {
    const redisUp = await Promise.race([
      redis.ping().then(
        () => true,
        () => false,
      ),
      new Promise<boolean>((r) => setTimeout(() => r(false), 1000)),
    ]);
    res.json({ ok: true, redis: redisUp ? 'up' : 'down' });
  });
  app.use(requireLoopbackHostHeader(isLoopbackHost(options.host)));
  app.use(requireToken(options.token));
  app.get('/metrics', async (_req, res) => {
    const { contentType, body } = await metrics.text();
    res.type(contentType).send(body);
  });
  app.use('/queues', queueBoard(queues));
  const api = express.Router();
  api.use(express.json({ limit: '4kb' }));
  readRoutes(api, deps);
  actionRoutes(api, deps);
  app.use('/api', api);
  app.use('/api', (_req, res) => {
    res.status(404).json({ error: 'no such API endpoint' });
  });
  app.use('/assets', express.static(PUBLIC_DIR, { index: false, maxAge: 0 }));
  const page = (_req: Request, res: Response) => {
    res.setHeader(
      'content-security-policy',
      "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'",
    );
    res.sendFile(path.join(PUBLIC_DIR, 'index.html'));
  };
  app.get('/', page);
  app.get('/builds/:buildId', page);
  app.use(errorResponses(logger));

  const server = app.listen(options.port, options.host);
  await new Promise<void>((resolve, reject) => {
    server.once('listening', () => resolve());
    server.once('error', reject);
  });
  const address = server.address() as AddressInfo;
  const shownHost = options.host === '0.0.0.0' || options.host === '::' ? '127.0.0.1' : options.host.includes(':') ? `[${options.host}]` : options.host;
  const url = `http://${shownHost}:${address.port}`;
  logger.info(
    {
      url,
      host: options.host,
      port: address.port,
      redis: redactRedisUrl(options.redisUrl),
      store: options.storeUrl ? redactUrl(options.storeUrl) : null,
      auth: options.token ? 'token' : 'none (loopback only)',
    },
    'reindex-dashboard listening',
  );

  let closing: Promise<void> | undefined;
  return {
    url,
    close() {
      closing ??= (async () => {
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
        await buildQueues.close();
        redis.disconnect();
        await reader.close();
      })();
      return closing;
    },
  };
}

/** What the routes share: the options, the Redis and queues, the build reader and the metrics. */
interface Deps {
  options: DashboardOptions;
  logger: Logger;
  redis: Redis;
  queues: BuildQueues['queues'];
  reader: BuildReader;
  metrics: DashboardMetrics;
  recentBuilds: () => Promise<BuildView[]>;
  actions: ActionContext;
}

/** Counts every response by route and status class, and sets the headers every response carries. */
function countRequests(metrics: DashboardMetrics) {
  return (req: Request, res: Response, next: NextFunction) => {
    res.on('finish', () =>
      metrics.requests.inc({
        route: req.path.startsWith('/api/')
          ? (req.path.split('/')[2] ?? 'api')
          : req.path.startsWith('/queues')
            ? 'queues'
            : req.path === '/'
              ? 'page'
              : (req.path.slice(1).split('/')[0] ?? ''),
        status: `${Math.floor(res.statusCode / 100)}xx`,
      }),
    );
    res.setHeader('x-content-type-options', 'nosniff');
    res.setHeader('referrer-policy', 'no-referrer');
    next();
  };
}

/** bull-board under `/queues`, read-only. */
function queueBoard(queues: BuildQueues['queues']): express.Router {
  const router = express.Router();
  // bull-board, read-only: retries go through this dashboard's actions, which keep flows
  // consistent (a shard retried alone would leave its merge failed) and write the build log.
  const board = new ExpressAdapter();
  // Its pages may not be framed, and its API changes nothing here: bull-board's own pause and
  // resume-all routes answer 200 in read-only mode without doing anything, so refuse them.
  router.use((req, res, next) => {
    res.setHeader('x-frame-options', 'DENY');
    res.setHeader('content-security-policy', "frame-ancestors 'none'");
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.status(405).json({ error: 'the queue board is read-only: retry and cancel through the build page (/api/builds/<id>/...)' });
      return;
    }
    next();
  });
  board.setBasePath('/queues');
  createBullBoard({
    queues: STAGES.map((s) => new BullMQAdapter(queues[s], { readOnlyMode: true })),
    serverAdapter: board,
    options: { uiConfig: { boardTitle: 'reindex queues' } },
  });
  router.use(board.getRouter());
  return router;
}

function buildIdParam(req: Request): string {
  const id = req.params.buildId;
  try {
    assertBuildId(id);
  } catch (error) {
    throw new ActionError('BAD_REQUEST', (error as Error).message, 400);
  }
  return id as string;
}

/** The JSON API's reads: overview, builds, one build with its log, workers, published versions. */
function readRoutes(api: express.Router, { options, redis, queues, reader, recentBuilds }: Deps): void {
  const published = new PublishedVersions();
  const versionsOf = async (builds: BuildView[]): Promise<IndexVersions[]> => {
    const out: IndexVersions[] = [];
    for (const url of reader.storeUrls()) {
      const store = reader.store(url);
      const names = new Set([
        ...builds.filter((b) => b.store === redactUrl(url) && b.name).map((b) => b.name as string),
        ...(await published.names(store).catch(() => [])),
      ]);
      out.push(...(await published.list(store, [...names].sort())));
    }
    return out;
  };
  api.get('/overview', async (_req, res) => {
    const builds = await recentBuilds();
    const [workers, counts] = await Promise.all([
      liveWorkers(redis, options.prefix, queues.shard),
      Promise.all(
        STAGES.map(
          async (s) => [s, await queues[s].getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'waiting-children', 'completed', 'failed')] as const,
        ),
      ),
    ]);
    res.json({
      redis: redactRedisUrl(options.redisUrl),
      stores: reader.storeUrls().map(redactUrl),
      pollMs: options.pollMs,
      tokenRequired: Boolean(options.token),
      queues: Object.fromEntries(counts.map(([s, c]) => [s, { name: queues[s].name, ...c }])),
      workers,
      builds: builds.map(buildSummary),
    });
  });
  api.get('/builds', async (_req, res) => res.json({ builds: (await recentBuilds()).map(buildSummary) }));
  api.get('/builds/:buildId', async (req, res) => {
    const buildId = buildIdParam(req);
    const [build, log] = await Promise.all([reader.snapshot(buildId), readBuildLog(redis, options.prefix, buildId)]);
    if (build.name === null && build.startedAt === null) {
      res.status(404).json({ error: `no build ${buildId}` });
      return;
    }
    res.json({ build, log });
  });
  api.get('/workers', async (_req, res) => res.json({ workers: await liveWorkers(redis, options.prefix, queues.shard) }));
  api.get('/versions', async (_req, res) => res.json({ indexes: await versionsOf(await recentBuilds()) }));
}

/** The JSON API's actions: retry a stage or shard, cancel a build. */
function actionRoutes(api: express.Router, { logger, reader, metrics, actions: ctx }: Deps): void {
  const by = (req: Request) => `dashboard ${req.socket.remoteAddress ?? '?'}`;
  const retry = async (req: Request, res: Response, stage: StageName, shard: number | undefined) => {
    const buildId = buildIdParam(req);
    try {
      const result = await retryJob(ctx, buildId, stage, shard, by(req));
      reader.invalidate(buildId);
      metrics.actions.inc({ action: 'retry', outcome: 'ok' });
      logger.info({ buildId, stage, ...(shard !== undefined ? { shard } : {}), requeued: result.requeued, by: by(req) }, result.log.message);
      res.json(result);
    } catch (error) {
      metrics.actions.inc({ action: 'retry', outcome: 'refused' });
      throw error;
    }
  };
  api.post('/builds/:buildId/shards/:shard/retry', requireActionHeader, async (req, res) => {
    const shard = Number(req.params.shard);
    if (!Number.isSafeInteger(shard) || shard < 0)
      throw new ActionError('BAD_REQUEST', `shard must be a non-negative integer, got ${JSON.stringify(req.params.shard)}`, 400);
    await retry(req, res, 'shard', shard);
  });
  api.post('/builds/:buildId/retry', requireActionHeader, async (req, res) => {
    const body = (req.body ?? {}) as { stage?: unknown; shard?: unknown };
    const stage = body.stage;
    if (typeof stage !== 'string' || !(STAGES as readonly string[]).includes(stage))
      throw new ActionError('BAD_REQUEST', `stage must be one of ${STAGES.join(', ')}`, 400);
    if (stage === 'shard' && (typeof body.shard !== 'number' || !Number.isSafeInteger(body.shard) || body.shard < 0))
      throw new ActionError('BAD_REQUEST', 'shard must be a non-negative integer', 400);
    await retry(req, res, stage as StageName, stage === 'shard' ? (body.shard as number) : undefined);
  });
  api.post('/builds/:buildId/cancel', requireActionHeader, async (req, res) => {
    const buildId = buildIdParam(req);
    const build = await reader.snapshot(buildId);
    if (build.name === null && build.startedAt === null) throw new ActionError('JOB_NOT_FOUND', `no build ${buildId}`, 404);
    try {
      const result = await cancelBuild(ctx, buildId, build.stages.shard.total, by(req));
      reader.invalidate(buildId);
      metrics.actions.inc({ action: 'cancel', outcome: 'ok' });
      logger.info({ buildId, cancelledJobs: result.cancelledJobs.length, running: result.running, by: by(req) }, result.log.message);
      res.json(result);
    } catch (error) {
      metrics.actions.inc({ action: 'cancel', outcome: 'refused' });
      throw error;
    }
  });
}

/** Action refusals and the body parser's 4xx as JSON; anything else a logged 500. */
function errorResponses(logger: Logger) {
  return (error: Error, req: Request, res: Response, _next: NextFunction) => {
    if (error instanceof ActionError) {
      res.status(error.httpStatus).json({ error: error.message, code: error.code });
      return;
    }
    // The body parser's refusals (too large: 413, not JSON: 400) are the client's, not ours.
    const status = (error as { status?: unknown }).status;
    if (typeof status === 'number' && status >= 400 && status < 500) {
      res
        .status(status)
        .json({ error: status === 413 ? 'request body too large (4 KB at most)' : status === 400 ? 'request body is not valid JSON' : error.message });
      return;
    }
    logger.error({ path: req.path, err: error.message }, 'request failed');
    res.status(500).json({ error: error.message });
  };
}
