import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { RoutingTable } from './routing-table.js';
import type { VersionLoader } from './reconciler.js';
import { fallbacksMetric, FallbackStats, latencyMetric, nodeLatencyMetric, nodeRequestsMetric, requestsMetric, VersionStats } from './version-stats.js';

/** The default of {@link NodeMetricsOptions.versionSeriesLimit}. */
export const DEFAULT_VERSION_SERIES_LIMIT = 100;
/** The default of {@link NodeMetricsOptions.versionSeriesWindowMs}. */
export const DEFAULT_VERSION_SERIES_WINDOW_MS = 10 * 60 * 1000;

/** Options for {@link NodeMetrics}. */
export interface NodeMetricsOptions {
  /**
   * Most versions with their own request and latency series in a scrape:
   * those that answered or failed a request most recently. @default 100
   */
  versionSeriesLimit?: number;
  /** Only versions active this recently get their own series. @default 600000 (10 min) */
  versionSeriesWindowMs?: number;
  /** @default Date.now */
  now?: () => number;
}

/**
 * The node's Prometheus metrics, on their own registry so tests can run
 * several nodes in one process. A scrape stays bounded however many versions
 * are loaded (at 1,000 versions it was 2.8 MB): per-version request and
 * latency series only for the versions active in the last
 * `versionSeriesWindowMs`, at most `versionSeriesLimit` of them, beside
 * node-wide totals of every version.
 */
export class NodeMetrics {
  readonly registry = new Registry();
  readonly errors: Counter<'model' | 'version' | 'code'>;
  private readonly versionStats = new Map<string, VersionStats>();
  /** By model, then intended version; few series, kept for the node's life like any counter. */
  private readonly fallbacks = new Map<string, Map<string, FallbackStats>>();
  readonly loadedVersions: Gauge;
  readonly loadSeconds: Histogram;
  readonly loadFailures: Counter<'model'>;
  /** Loaded versions whose session runs in a worker thread of its own (model-loader.ts). */
  readonly workerVersions: Gauge;
  readonly workerCrashes: Counter<'model' | 'version'>;
  /** Bytes held by ModelInfer calls in flight, read at scrape time (in-flight-bytes.ts). */
  inFlightBytes: () => number = () => 0;
  /** Session processes killed by a run's time-out or memory, or that died (session-process.ts). */
  readonly runProcessesLost: Counter<'model' | 'version'>;
  /** The counts of versions whose stats were dropped (unloaded), so the node totals never go down. */
  private readonly forgotten = new VersionStats('', '');
  private readonly seriesLimit: number;
  private readonly seriesWindowMs: number;
  private readonly now: () => number;

  constructor(defaultLabels: Record<string, string> = {}, options: NodeMetricsOptions = {}) {
    this.seriesLimit = options.versionSeriesLimit ?? DEFAULT_VERSION_SERIES_LIMIT;
    this.seriesWindowMs = options.versionSeriesWindowMs ?? DEFAULT_VERSION_SERIES_WINDOW_MS;
    this.now = options.now ?? Date.now;
    this.registry.setDefaultLabels(defaultLabels);
    const registers = [this.registry];
    const metrics = this;
    this.errors = new Counter({
      name: 'switchyard_request_errors_total',
      help: 'Inference requests that failed, by gRPC status code.',
      labelNames: ['model', 'version', 'code'],
      registers,
    });
    const detailedNow = (): VersionStats[] => this.detailedNow().stats;
    this.registry.registerMetric(requestsMetric(detailedNow));
    this.registry.registerMetric(latencyMetric(detailedNow));
    this.registry.registerMetric(nodeRequestsMetric(() => this.totals()));
    this.registry.registerMetric(nodeLatencyMetric(() => this.totals()));
    new Gauge({
      name: 'switchyard_version_series_omitted',
      help: 'Versions with counters on this node left out of the per-version request series: idle for the window, or past the limit (node-wide totals include them).',
      registers,
      collect() {
        this.set(Math.max(0, metrics.versionStats.size - detailedNow().length));
      },
    });
    this.registry.registerMetric(fallbacksMetric(() => [...this.fallbacks.values()].flatMap((m) => [...m.values()])));
    this.loadedVersions = new Gauge({
      name: 'switchyard_loaded_versions',
      help: 'Model versions loaded on this node.',
      registers,
    });
    // Node-wide: by model it was 14 series a model, each counting about one load; a version's own load time is in its status.
    this.loadSeconds = new Histogram({
      name: 'switchyard_version_load_seconds',
      help: 'Time to fetch, load and warm a model version, over every version loaded on this node.',
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    });
    this.loadFailures = new Counter({
      name: 'switchyard_version_load_failures_total',
      help: 'Failed attempts to load a model version.',
      labelNames: ['model'],
      registers,
    });
    this.workerVersions = new Gauge({
      name: 'switchyard_worker_hosted_versions',
      help: 'Loaded model versions whose session runs in a worker thread of its own (slow models).',
      registers,
    });
    this.workerCrashes = new Counter({
      name: 'switchyard_worker_thread_crashes_total',
      help: 'Worker threads hosting a model version that died; their requests in flight failed with UNAVAILABLE and the thread was restarted.',
      labelNames: ['model', 'version'],
      registers,
    });
    new Gauge({
      name: 'switchyard_in_flight_request_bytes',
      help: 'Bytes of ModelInfer requests and unsent responses held by calls in flight (limit: maxInFlightBytes).',
      registers,
      collect() {
        this.set(metrics.inFlightBytes());
      },
    });
    this.runProcessesLost = new Counter({
      name: 'switchyard_run_processes_lost_total',
      help: 'Session processes ended during a run: killed at the run time-out, by their memory limit, or crashed; each was replaced.',
      labelNames: ['model', 'version'],
      registers,
    });
  }

  /** The counters of one version, created on first use and kept until {@link forget}. */
  statsFor(model: string, version: string): VersionStats {
    const key = `${model}/${version}`;
    let stats = this.versionStats.get(key);
    if (!stats) {
      stats = new VersionStats(model, version);
      this.versionStats.set(key, stats);
    }
    return stats;
  }

  /**
   * The counters of one version if this node keeps them, without creating
   * any: readers that only look (rollout figures) must not add a zero series
   * to /metrics for a version this node never loaded.
   */
  existingStats(model: string, version: string): VersionStats | undefined {
    return this.versionStats.get(`${model}/${version}`);
  }

  /** Counts a request whose slot's version, `intended`, was not READY here (on the hot path: no label hashing). */
  countFallback(model: string, intended: string): void {
    let byVersion = this.fallbacks.get(model);
    if (!byVersion) this.fallbacks.set(model, (byVersion = new Map()));
    let stats = byVersion.get(intended);
    if (!stats) byVersion.set(intended, (stats = new FallbackStats(model, intended)));
    stats.count++;
  }

  /** Every version's counters kept now (usage publishing reads last use from them). */
  allStats(): IterableIterator<VersionStats> {
    return this.versionStats.values();
  }

  /** Drops an unloaded version's counters, so the series do not grow without bound; the node totals keep its counts. */
  forget(model: string, version: string): void {
    const key = `${model}/${version}`;
    const stats = this.versionStats.get(key);
    if (stats) this.forgotten.add(stats);
    this.versionStats.delete(key);
  }

  /** Computed once per scrape (per millisecond) and shared by every metric that lists versions. */
  private detailed: { at: number; stats: VersionStats[]; keys: Set<string> } | undefined;

  private detailedNow(): { stats: VersionStats[]; keys: Set<string> } {
    const at = this.now();
    if (this.detailed?.at !== at) {
      const stats = this.detailedStats(at);
      this.detailed = { at, stats, keys: new Set(stats.map((s) => `${s.model}/${s.version}`)) };
    }
    return this.detailed;
  }

  /** Whether a version gets per-version series in a scrape now (other per-version metrics, e.g. queue-metrics.ts, follow the same rule). */
  hasSeries(model: string, version: string): boolean {
    return this.detailedNow().keys.has(`${model}/${version}`);
  }

  /** The versions that get series of their own at `now`: active in the window, the most recently active first, at most the limit. */
  private detailedStats(now: number): VersionStats[] {
    const since = now - this.seriesWindowMs;
    const active: VersionStats[] = [];
    for (const s of this.versionStats.values()) if (s.lastActiveMs > 0 && s.lastActiveMs >= since) active.push(s);
    if (active.length <= this.seriesLimit) return active;
    return active.sort((a, b) => b.lastActiveMs - a.lastActiveMs).slice(0, this.seriesLimit);
  }

  /** Every version's counts summed, unloaded ones included. */
  private totals(): VersionStats {
    const total = new VersionStats('', '');
    total.add(this.forgotten);
    for (const s of this.versionStats.values()) total.add(s);
    return total;
  }

  /** Sets the gauges that describe what is loaded; called with every new routing table. */
  observeTable(table: RoutingTable): void {
    this.loadedVersions.set(table.versions.size);
    let inWorkers = 0;
    for (const version of table.versions.values()) if (version.session.host === 'worker') inWorkers++;
    this.workerVersions.set(inWorkers);
  }

  /** `loader` with every load timed and every failed one counted. */
  timedLoads(loader: VersionLoader): VersionLoader {
    return {
      load: async (record, runtime) => {
        try {
          const loaded = await loader.load(record, runtime);
          this.loadSeconds.observe(loaded.loadMs / 1000);
          return loaded;
        } catch (err) {
          this.loadFailures.inc({ model: record.model });
          throw err;
        }
      },
    };
  }

  /** Adds process metrics (memory, event-loop lag); once per process, since they are global. */
  collectProcessMetrics(): void {
    collectDefaultMetrics({ register: this.registry, prefix: 'switchyard_node_' });
  }
}
