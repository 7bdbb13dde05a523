import type { Queue } from 'bullmq';
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { StageName } from '@reindex/queue';
import { hasWorkerMetrics, registerQueueDepthGauge, workerMetrics } from '@reindex/worker';

/** The dashboard's own metrics: queue depths, builds by status, live workers, actions, HTTP. */
export class DashboardMetrics {
  readonly registry = new Registry();
  readonly actions = new Counter({
    name: 'reindex_dashboard_actions_total',
    help: 'Operator actions, by action and outcome',
    labelNames: ['action', 'outcome'],
    registers: [this.registry],
  });
  readonly requests = new Counter({
    name: 'reindex_dashboard_http_requests_total',
    help: 'HTTP requests, by route group and status class',
    labelNames: ['route', 'status'],
    registers: [this.registry],
  });
  readonly builds: Gauge;
  readonly workers: Gauge;

  constructor(queues: Record<StageName, Queue>, sample: { builds: () => Promise<Record<string, number>>; workers: () => Promise<number> }) {
    collectDefaultMetrics({ register: this.registry, prefix: 'reindex_dashboard_' });
    registerQueueDepthGauge(this.registry, queues);
    this.builds = new Gauge({
      name: 'reindex_builds',
      help: 'Recent builds (as listed on the dashboard), by status',
      labelNames: ['status'],
      registers: [this.registry],
      async collect() {
        this.reset();
        for (const [status, n] of Object.entries(await sample.builds())) this.set({ status }, n);
      },
    });
    this.workers = new Gauge({
      name: 'reindex_workers_live',
      help: 'Workers with a live heartbeat or queue connection',
      registers: [this.registry],
      async collect() {
        this.set(await sample.workers());
      },
    });
  }

  /** Prometheus text: these metrics, plus those of workers running in this process (`reindex --dashboard`). */
  async text(): Promise<{ contentType: string; body: string }> {
    const registry = hasWorkerMetrics() ? Registry.merge([this.registry, workerMetrics().registry]) : this.registry;
    return { contentType: registry.contentType, body: await registry.metrics() };
  }
}
