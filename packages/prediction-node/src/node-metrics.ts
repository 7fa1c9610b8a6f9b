import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** The node's Prometheus metrics, on their own registry so tests can run several nodes in one process. */
export class NodeMetrics {
  readonly registry = new Registry();
  readonly requests: Counter<'model' | 'version'>;
  readonly errors: Counter<'model' | 'version' | 'code'>;
  readonly latency: Histogram<'model' | 'version'>;
  readonly loadedVersions: Gauge;
  readonly loadSeconds: Histogram<'model'>;
  readonly loadFailures: Counter<'model'>;

  constructor(defaultLabels: Record<string, string> = {}) {
    this.registry.setDefaultLabels(defaultLabels);
    const registers = [this.registry];
    this.requests = new Counter({
      name: 'switchyard_requests_total',
      help: 'Inference requests answered, by model and the version that answered.',
      labelNames: ['model', 'version'],
      registers,
    });
    this.errors = new Counter({
      name: 'switchyard_request_errors_total',
      help: 'Inference requests that failed, by gRPC status code.',
      labelNames: ['model', 'version', 'code'],
      registers,
    });
    this.latency = new Histogram({
      name: 'switchyard_request_duration_seconds',
      help: 'Time from decoded request to encoded response, per model version.',
      labelNames: ['model', 'version'],
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    });
    this.loadedVersions = new Gauge({
      name: 'switchyard_loaded_versions',
      help: 'Model versions loaded on this node.',
      registers,
    });
    this.loadSeconds = new Histogram({
      name: 'switchyard_version_load_seconds',
      help: 'Time to fetch, load and warm a model version.',
      labelNames: ['model'],
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    });
    this.loadFailures = new Counter({
      name: 'switchyard_version_load_failures_total',
      help: 'Failed attempts to load a model version.',
      labelNames: ['model'],
      registers,
    });
  }

  /** Adds process metrics (memory, event-loop lag); once per process, since they are global. */
  collectProcessMetrics(): void {
    collectDefaultMetrics({ register: this.registry, prefix: 'switchyard_node_' });
  }
}
