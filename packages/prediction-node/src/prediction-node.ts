import { randomBytes } from 'node:crypto';
import type { Server as HttpServer } from 'node:http';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';
import type { Etcd3 } from 'etcd3';
import {
  BUILD_VERSION,
  KeyLayout,
  splitHostPort,
  systemClock,
  type ClientTlsOptions,
  type Clock,
  type Logger,
  type ServerTlsOptions,
  type NodeRecord,
  type VersionStatusRecord,
} from '@switchyard/core';
import { describeServerTls, inferenceService, serverCredentials } from '@switchyard/core/grpc';
import { createLogger } from '@switchyard/core/logging';
import { ArtifactCache } from './artifact-cache.js';
import { ArtifactCacheTrimmer, artifactCacheMetrics, wantedArtifacts } from './artifact-cache-trimmer.js';
import { ControlPlaneArtifactSource } from './artifact-fetcher.js';
import { inferenceHandlers } from './inference-service.js';
import { StatsPublisher } from './stats-publisher.js';
import { startShadowMirroring, type ShadowOptions } from './shadow-node.js';
import { PrimaryInFlight } from './primary-in-flight.js';
import { ModelLoader, type SessionHosting } from './model-loader.js';
import { startMetricsServer } from './metrics-server.js';
import { NodeMetrics } from './node-metrics.js';
import { Reconciler, type StatusSink } from './reconciler.js';
import { RuntimeReporter } from './runtime-reporter.js';
import { rolloutStatsSource } from './rollout-stats-source.js';
import { TargetStateMirror } from './target-state-mirror.js';
import { UsageSource } from './usage-source.js';

/** Options for {@link PredictionNode.create}. */
export interface PredictionNodeOptions {
  etcd: Etcd3;
  /** @default new KeyLayout() (prefix /switchyard/) */
  keys?: KeyLayout;
  /** Unique node name. @default "node-" + random hex */
  id?: string;
  /** host:port for the inference gRPC server; port 0 picks a free one. @default 127.0.0.1:0 */
  listen?: string;
  /** The address other processes should use, when it differs from `listen`. @default the bound address */
  advertise?: string;
  /** host:port for the Prometheus /metrics endpoint; omit for none. */
  metricsListen?: string;
  /** Folder for the artifact cache. */
  dataDir: string;
  logger?: Logger;
  /** Largest request or response message. @default 64 MiB */
  maxMessageBytes?: number;
  /** Fixed control-plane addresses for artifact fetches; empty to discover them in etcd. */
  controlPlanes?: string[];
  /** onnxruntime intra-op threads per session. @default 1 */
  intraOpThreads?: number;
  /**
   * A version whose warm-up run takes longer than this runs in a worker
   * thread of its own, so it cannot block health checks, keep-alives and
   * other models; faster ones stay on the main thread, where they cost less.
   * @default 2
   */
  inlineRunLimitMs?: number;
  /** Overrides that choice for every version: 'inline' or 'worker'. @default 'auto' */
  sessionHosting?: SessionHosting;
  /** Lease TTL of the node's registration. @default 10 */
  leaseTtlSeconds?: number;
  /** First retry delay after a failed load. @default 1000 */
  loadRetryMinMs?: number;
  /** Register process-wide metrics (memory, event loop). Only one node per process should. @default false */
  processMetrics?: boolean;
  /** TLS for the inference server (certFile + keyFile; clientCaFile for mutual TLS). @default plaintext */
  tls?: ServerTlsOptions;
  /** Bearer token for the control planes' ArtifactService when their auth is on; viewer is enough. */
  controlPlaneToken?: string;
  /** TLS towards the control planes; an empty object uses the system's roots. @default plaintext */
  controlPlaneTls?: ClientTlsOptions;
  /**
   * On stop, how long the node keeps taking calls after turning health
   * NOT_SERVING, so clients and load balancers that watch health move away
   * before it refuses anything. @default 2000
   */
  drainGraceMs?: number;
  /** On stop, how long in-flight calls may run before the server is shut down by force. @default 10000 */
  shutdownDeadlineMs?: number;
  /**
   * How often figures that outlive the node (rollout step counters, shadow
   * comparisons, last use) are collected and written to etcd. @default 5000
   */
  statsIntervalMs?: number;
  /** Least time between two writes of one version's last use to etcd (docs/retirement.md). @default 60000 */
  usageIntervalMs?: number;
  /** Time the node reports last use in; a fake clock in tests of retirement. @default the wall clock */
  clock?: Clock;
  /** Shadow mirroring: queue size, concurrency, time-out, busy threshold (docs/shadows.md). */
  shadow?: ShadowOptions;
  /**
   * How long a cached artifact no version record uses any more (a retired
   * version's) stays on disk before it is removed (docs/operations.md). @default 600000
   */
  artifactCacheGraceMs?: number;
  /** Time between two trims of the artifact cache. @default 60000 */
  artifactCacheTrimIntervalMs?: number;
}

export type NodeState = 'STARTING' | 'SERVING' | 'DRAINING' | 'STOPPED';

/**
 * A prediction node: serves the KServe v2 protocol for whatever the target
 * state in etcd says, and reports what it has loaded. Stateless: everything
 * it serves comes from etcd and the control plane's artifact store.
 */
export class PredictionNode {
  private nodeState: NodeState = 'STARTING';

  private constructor(
    readonly id: string,
    /** The bound host:port of the inference server. */
    readonly address: string,
    /** The bound host:port of /metrics, when enabled. */
    readonly metricsAddress: string | undefined,
    readonly metrics: NodeMetrics,
    private readonly server: grpc.Server,
    private readonly health: HealthImplementation,
    private readonly mirror: TargetStateMirror,
    private readonly reconciler: Reconciler,
    private readonly reporter: RuntimeReporter,
    private readonly source: ControlPlaneArtifactSource,
    private readonly metricsServer: HttpServer | undefined,
    private readonly logger: Logger,
    private readonly initialState: Promise<unknown>,
    private readonly drainGraceMs: number,
    private readonly shutdownDeadlineMs: number,
    /** Writes figures that outlive the node; flushed once more on drain. */
    readonly statsPublisher: StatsPublisher,
  ) {}

  static async create(options: PredictionNodeOptions): Promise<PredictionNode> {
    const keys = options.keys ?? new KeyLayout();
    // Before anything starts: a bad certificate path should fail start-up cleanly.
    if (options.tls && options.tls.certFile === undefined) {
      throw new TypeError('tls needs certFile and keyFile (--tls-cert, --tls-key); omit tls for plaintext');
    }
    const credentials = serverCredentials(options.tls);
    const id = options.id ?? `node-${randomBytes(4).toString('hex')}`;
    const logger = (options.logger ?? createLogger({ component: 'prediction-node' })).child({ nodeId: id });
    const metrics = new NodeMetrics({ node: id });
    if (options.processMetrics) metrics.collectProcessMetrics();

    const reporter = new RuntimeReporter({ etcd: options.etcd, logger, ttlSeconds: options.leaseTtlSeconds ?? 10 });
    const status: StatusSink = {
      report: (s) => {
        const record: VersionStatusRecord = { ...s, nodeId: id, updatedAt: new Date().toISOString() };
        reporter.set(keys.status(id, s.model, s.version), JSON.stringify(record));
      },
      clear: (model, version) => {
        reporter.remove(keys.status(id, model, version));
        // Its counters go next: keep its last use until it is written.
        for (const s of metrics.allStats()) if (s.model === model && s.version === version) usage.retain(s);
        metrics.forget(model, version);
      },
    };
    const source = new ControlPlaneArtifactSource({
      etcd: options.etcd,
      keys,
      logger,
      ...(options.controlPlanes ? { addresses: options.controlPlanes } : {}),
      ...(options.controlPlaneToken !== undefined ? { token: options.controlPlaneToken } : {}),
      ...(options.controlPlaneTls !== undefined ? { tls: options.controlPlaneTls } : {}),
    });
    const cache = new ArtifactCache({ dir: join(options.dataDir, 'artifacts'), source, logger });
    const loader = new ModelLoader({
      cache,
      intraOpThreads: options.intraOpThreads ?? 1,
      ...(options.inlineRunLimitMs !== undefined ? { inlineRunLimitMs: options.inlineRunLimitMs } : {}),
      ...(options.sessionHosting !== undefined ? { sessionHosting: options.sessionHosting } : {}),
      onWorkerCrash: (record) => metrics.workerCrashes.inc({ model: record.model, version: record.version }),
      logger,
      statsFor: (record) => metrics.statsFor(record.model, record.version),
    });
    const reconciler = new Reconciler({
      loader: {
        load: async (record) => {
          try {
            const loaded = await loader.load(record);
            metrics.loadSeconds.observe({ model: record.model }, loaded.loadMs / 1000);
            return loaded;
          } catch (err) {
            metrics.loadFailures.inc({ model: record.model });
            throw err;
          }
        },
      },
      status,
      logger,
      retryMinMs: options.loadRetryMinMs ?? 1000,
      onTable: (table) => {
        metrics.loadedVersions.set(table.versions.size);
        metrics.workerVersions.set([...table.versions.values()].filter((v) => v.session.host === 'worker').length);
      },
    });
    const cacheTrimmer = new ArtifactCacheTrimmer({
      cache,
      wanted: () => reconciler.targetState && wantedArtifacts(reconciler.targetState),
      loaded: () => new Set([...reconciler.table.versions.values()].map((v) => v.record.artifact.sha256)),
      clock: options.clock ?? systemClock,
      logger,
      metrics: artifactCacheMetrics(metrics.registry),
      ...(options.artifactCacheGraceMs !== undefined ? { graceMs: options.artifactCacheGraceMs } : {}),
      ...(options.artifactCacheTrimIntervalMs !== undefined ? { intervalMs: options.artifactCacheTrimIntervalMs } : {}),
    });
    // Rollout and shadow figures that outlive this process are filed under
    // `{id}.{incarnation}`, so a restarted node with the same id never
    // overwrites its predecessor's.
    const incarnation = randomBytes(4).toString('hex');
    const publisher = new StatsPublisher({ etcd: options.etcd, logger, intervalMs: options.statsIntervalMs ?? 5000 });
    const clock = options.clock;
    const usage = new UsageSource({
      keys,
      nodeId: id,
      stats: () => metrics.allStats(),
      intervalMs: options.usageIntervalMs ?? 60_000,
      clockOffsetMs: () => (clock ? clock.now() - Date.now() : 0),
    });
    publisher.add(usage.source);
    publisher.add(
      rolloutStatsSource({
        keys,
        nodeId: id,
        incarnation,
        routes: () => reconciler.targetState?.routes.values() ?? [],
        // Not statsFor: that would create a zero /metrics series for a version this node never loaded.
        counters: (model, version) => metrics.existingStats(model, version)?.counters(),
      }),
    );
    const inFlight = new PrimaryInFlight();
    const shadows = startShadowMirroring({ metrics, publisher, keys, nodeId: id, incarnation, reconciler, logger, options: options.shadow, inFlight });
    const mirror = new TargetStateMirror({ etcd: options.etcd, keys, logger, onChange: (state) => reconciler.update(state) });

    const health = new HealthImplementation({ '': 'NOT_SERVING', 'inference.GRPCInferenceService': 'NOT_SERVING' });
    const maxMessageBytes = options.maxMessageBytes ?? 64 * 1024 * 1024;
    const server = new grpc.Server({
      'grpc.max_receive_message_length': maxMessageBytes,
      'grpc.max_send_message_length': maxMessageBytes,
    });
    let node: PredictionNode | undefined;
    server.addService(
      inferenceService().service,
      inferenceHandlers({
        nodeId: id,
        logger,
        metrics,
        table: () => reconciler.table,
        ready: () => node?.state === 'SERVING',
        afterPrimary: shadows.onServed,
        inFlight,
      }),
    );
    health.addToServer(server);
    const listen = options.listen ?? '127.0.0.1:0';
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync(listen, credentials, (err, p) => (err ? reject(err) : resolve(p))),
    );
    const address = options.advertise ?? `${splitHostPort(listen).host}:${port}`;
    const metricsServer = options.metricsListen ? await startMetricsServer(metrics.registry, options.metricsListen) : undefined;

    const record: NodeRecord = {
      id,
      address,
      metricsAddress: metricsServer?.address ?? '',
      buildVersion: BUILD_VERSION,
      startedAt: new Date().toISOString(),
    };
    reporter.set(keys.node(id), JSON.stringify(record));
    publisher.start();

    node = new PredictionNode(
      id,
      address,
      metricsServer?.address,
      metrics,
      server,
      health,
      mirror,
      reconciler,
      reporter,
      source,
      metricsServer?.server,
      logger,
      mirror.start(),
      options.drainGraceMs ?? 2000,
      options.shutdownDeadlineMs ?? 10_000,
      publisher,
    );
    node.usage = usage;
    node.cacheTrimmer = cacheTrimmer;
    cacheTrimmer.start();
    node.becomeReadyWhenSettled();
    logger.info('prediction node listening', { address, metricsAddress: metricsServer?.address, build: BUILD_VERSION, tls: describeServerTls(options.tls) });
    return node;
  }

  get state(): NodeState {
    return this.nodeState;
  }

  /** What the node serves right now (tests and diagnostics). */
  get table() {
    return this.reconciler.table;
  }

  /** Resolves once the initial target state is read and every version in it loaded or failed once. */
  async ready(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.nodeState !== 'SERVING') {
      if (Date.now() > deadline) throw new Error(`node ${this.id} did not become ready within ${timeoutMs} ms`);
      if (this.nodeState === 'STOPPED' || this.nodeState === 'DRAINING') throw new Error(`node ${this.id} is ${this.nodeState}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /**
   * Drains and stops, in this order:
   * 1. health NOT_SERVING and ServerReady false at once;
   * 2. calls still accepted for `drainGraceMs`, so health-watching clients move away;
   * 3. registration removed from etcd (lease revoked);
   * 4. server.tryShutdown: new calls refused, in-flight calls finished;
   * 5. forceShutdown once `shutdownDeadlineMs` has passed since step 4, so stop never hangs;
   * 6. sessions released.
   * A second call while draining waits for the first.
   * @param shutdownDeadlineMs overrides the node's `shutdownDeadlineMs` for this stop.
   */
  stop(shutdownDeadlineMs?: number): Promise<void> {
    this.stopping ??= this.drain(shutdownDeadlineMs ?? this.shutdownDeadlineMs);
    return this.stopping;
  }

  private stopping: Promise<void> | undefined;
  /** Told to write every pending last use in the final flush. */
  private usage: UsageSource | undefined;
  /** Removes cached artifacts no version uses any more; stopped first on drain. */
  private cacheTrimmer: ArtifactCacheTrimmer | undefined;

  private async drain(shutdownDeadlineMs: number): Promise<void> {
    if (this.nodeState === 'STOPPED') return;
    this.nodeState = 'DRAINING';
    this.health.setStatus('', 'NOT_SERVING');
    this.health.setStatus('inference.GRPCInferenceService', 'NOT_SERVING');
    this.logger.info('prediction node draining', { drainGraceMs: this.drainGraceMs, shutdownDeadlineMs });
    this.mirror.stop();
    await this.cacheTrimmer?.stop();
    if (this.drainGraceMs > 0) await new Promise((r) => setTimeout(r, this.drainGraceMs));
    await this.reporter.close().catch((err: unknown) => this.logger.warn('could not deregister from etcd', { error: String(err) }));
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.logger.warn('shutdown deadline passed; cancelling the calls still running', { shutdownDeadlineMs });
        this.server.forceShutdown();
        resolve();
      }, shutdownDeadlineMs);
      this.server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
    // After the last call: its figures (and last use) are in the final flush.
    this.usage?.flushNext();
    await this.statsPublisher.close();
    await this.reconciler.stop();
    this.source.close();
    await new Promise<void>((resolve) => (this.metricsServer ? this.metricsServer.close(() => resolve()) : resolve()));
    this.nodeState = 'STOPPED';
    this.logger.info('prediction node stopped');
  }

  private becomeReadyWhenSettled(): void {
    void this.initialState.then(async () => {
      while (this.nodeState === 'STARTING' && !this.reconciler.settled()) await new Promise((r) => setTimeout(r, 20));
      if (this.nodeState !== 'STARTING') return;
      this.nodeState = 'SERVING';
      this.health.setStatus('', 'SERVING');
      this.health.setStatus('inference.GRPCInferenceService', 'SERVING');
      this.logger.info('prediction node ready');
    });
  }
}
