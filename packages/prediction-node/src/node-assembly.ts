import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { ServerCredentials } from '@grpc/grpc-js';
import type { Logger } from '@switchyard/core';
import { inferenceService } from '@switchyard/core/grpc';
import { ArtifactCache } from './artifact-cache.js';
import { ArtifactCacheTrimmer, artifactCacheMetrics, loadedArtifacts, wantedArtifacts } from './artifact-cache-trimmer.js';
import { ControlPlaneArtifactSource } from './artifact-fetcher.js';
import { ClusterViewMirror, type ClusterView } from './cluster-view.js';
import { densityMetrics, type DensityMetrics } from './density-metrics.js';
import { DensityServing } from './density-serving.js';
import { MemoryLedger } from './memory-ledger.js';
import { NodeForwarder } from './node-forwarder.js';
import { NodeMemoryReporter } from './node-memory-reporter.js';
import { InferenceServer } from './inference-server.js';
import { InFlightBytes } from './in-flight-bytes.js';
import { inferenceHandlers } from './inference-service.js';
import { MetricsServer } from './metrics-server.js';
import { ModelLoader } from './model-loader.js';
import type { NodeComponent } from './node-component.js';
import { NodeHealth } from './node-health.js';
import { NodeMetrics } from './node-metrics.js';
import { queueMetrics } from './queue-metrics.js';
import { NodeRegistration, NodeStatusSink } from './node-registration.js';
import type { ResolvedPredictionNodeOptions } from './prediction-node-options.js';
import { PrimaryInFlight } from './primary-in-flight.js';
import { Reconciler } from './reconciler.js';
import { rolloutStatsSource } from './rollout-stats-source.js';
import { RuntimeReporter } from './runtime-reporter.js';
import { startShadowMirroring } from './shadow-node.js';
import { StatsPublisher } from './stats-publisher.js';
import { TargetStateMirror } from './target-state-mirror.js';
import { clockOffset, UsageSource } from './usage-source.js';

/** A node's parts, built and connected but not started. */
export interface NodeAssembly {
  metrics: NodeMetrics;
  reconciler: Reconciler;
  statsPublisher: StatsPublisher;
  health: NodeHealth;
  server: InferenceServer;
  metricsServer: MetricsServer | undefined;
  /**
   * In start order; stopped in reverse, which is the drain documented in
   * docs/design.md: health NOT_SERVING and the grace period, the watch and
   * background work, the lease, the server (in-flight calls finish), the
   * final figures, the sessions, then /metrics.
   */
  components: NodeComponent[];
}

/**
 * Builds every part of a node from resolved options and connects them
 * through their narrow interfaces. Opens nothing: binding, watching and
 * timers begin when the components start.
 */
export function assembleNode(o: ResolvedPredictionNodeOptions, logger: Logger, credentials: ServerCredentials): NodeAssembly {
  const metrics = new NodeMetrics({ node: o.id });
  if (o.processMetrics) metrics.collectProcessMetrics();
  const reporter = new RuntimeReporter({ etcd: o.etcd, logger, ttlSeconds: o.leaseTtlSeconds });
  const usage = new UsageSource({ keys: o.keys, nodeId: o.id, stats: () => metrics.allStats(), intervalMs: o.usageIntervalMs, clockOffsetMs: clockOffset(o.clock) });
  const serving = servingParts(o, logger, metrics, new NodeStatusSink({ reporter, keys: o.keys, nodeId: o.id, metrics, usage }));
  const figures = figureParts(o, logger, metrics, usage, serving);
  const servers = serverParts(o, logger, credentials, metrics, reporter, serving, figures);
  const memoryRecord = new NodeMemoryReporter({
    reporter,
    keys: o.keys,
    nodeId: o.id,
    intervalMs: o.statsIntervalMs,
    figures: {
      budgetBytes: o.memoryBudget.bytes,
      usedBytes: () => serving.reconciler.memoryUsedBytes(),
      loaded: () => serving.reconciler.table.versions.size,
      evictions: () => serving.ledger.evictions,
    },
  });
  const components: NodeComponent[] = [
    ...(servers.metricsServer ? [servers.metricsServer] : []),
    { name: 'artifact-source', start: () => undefined, stop: () => serving.source.close() },
    { name: 'sessions', start: () => undefined, stop: () => serving.reconciler.stop() },
    figures.statsPublisher,
    servers.server,
    servers.registration,
    memoryRecord,
    serving.clusterView,
    { name: 'forwarder', start: () => undefined, stop: () => serving.forwarder.close() },
    serving.trimmer,
    figures.shadows,
    serving.target,
    servers.health,
  ];
  return { metrics, reconciler: serving.reconciler, statsPublisher: figures.statsPublisher, health: servers.health, server: servers.server, metricsServer: servers.metricsServer, components };
}

/** What decides and holds what the node serves: target state, artifacts, sessions. */
function servingParts(o: ResolvedPredictionNodeOptions, logger: Logger, metrics: NodeMetrics, status: NodeStatusSink) {
  // The one owner of the target state; everything else reads it through TargetStateView.
  const target = new TargetStateMirror({ etcd: o.etcd, keys: o.keys, logger, onChange: () => reconciler.reconcile() });
  const source = new ControlPlaneArtifactSource({
    etcd: o.etcd,
    keys: o.keys,
    logger,
    addresses: o.controlPlanes,
    ...(o.controlPlaneToken !== undefined ? { token: o.controlPlaneToken } : {}),
    ...(o.controlPlaneTls !== undefined ? { tls: o.controlPlaneTls } : {}),
  });
  const cache = new ArtifactCache({ dir: join(o.dataDir, 'artifacts'), source, logger });
  const loader = new ModelLoader({
    cache,
    intraOpThreads: o.intraOpThreads,
    inlineRunLimitMs: o.inlineRunLimitMs,
    sessionHosting: o.sessionHosting,
    runTimeoutMs: o.runTimeoutMs,
    loadTimeoutMs: o.loadTimeoutMs,
    runMemoryLimitBytes: o.runMemoryLimitBytes,
    maxOutputBytes: o.maxMessageBytes,
    onWorkerCrash: (record) => metrics.workerCrashes.inc({ model: record.model, version: record.version }),
    onRunProcessLost: (record) => metrics.runProcessesLost.inc({ model: record.model, version: record.version }),
    logger,
    statsFor: (record) => metrics.statsFor(record.model, record.version),
  });
  const { memoryBudget: budget } = o;
  logger.info('memory budget', {
    budgetBytes: budget.bytes,
    source: budget.source,
    ...(budget.source === 'option' ? {} : { limitBytes: budget.limitBytes, reserveBytes: budget.reserveBytes }),
  });
  const ledger = new MemoryLedger(budget.bytes);
  const density: DensityMetrics = densityMetrics(metrics.registry, { budget: () => budget.bytes, used: () => reconciler.memoryUsedBytes() });
  const reconciler = new Reconciler({
    target,
    loader: metrics.timedLoads(loader),
    status,
    logger,
    retryMinMs: o.loadRetryMinMs,
    onTable: (table) => metrics.observeTable(table),
    density: {
      nodeId: o.id,
      memory: ledger,
      onEvicted: () => density.evictions.inc(),
      heldElsewhere: (key) => !o.tls && clusterView.holders(key).some((id) => id !== o.id),
      onRefused: (record, reason) => {
        density.refusals.inc();
        logger.warn('model version refused: it does not fit the memory budget', { model: record.model, version: record.version, reason });
      },
    },
  });
  const clusterView = new ClusterViewMirror({ etcd: o.etcd, keys: o.keys, logger });
  // Forwarding speaks plaintext; a node serving TLS loads what it is asked for instead (docs/placement.md).
  const noHolders: ClusterView = { holders: () => [], address: () => undefined };
  const forwarder = new NodeForwarder({ nodeId: o.id, maxMessageBytes: o.maxMessageBytes });
  const densityServing = new DensityServing({
    nodeId: o.id,
    logger,
    metrics: density,
    table: () => reconciler.table,
    target: () => target.current(),
    view: o.tls ? noHolders : clusterView,
    demand: (model, version) => reconciler.demand(model, version),
    forwarder,
    maxColdWaitMs: o.loadTimeoutMs,
  });
  // Per loaded version, gone with it: the series stay bounded by what is loaded (apart from node-metrics.ts, issue #17).
  for (const metric of queueMetrics(() => [...reconciler.table.versions.values()].map((v) => v.queueStats))) metrics.registry.registerMetric(metric);
  const trimmer = new ArtifactCacheTrimmer({
    cache,
    wanted: () => {
      const state = target.current();
      return state && wantedArtifacts(state);
    },
    loaded: () => loadedArtifacts(reconciler.table),
    clock: o.clock,
    logger,
    metrics: artifactCacheMetrics(metrics.registry),
    graceMs: o.artifactCacheGraceMs,
    intervalMs: o.artifactCacheTrimIntervalMs,
  });
  return { target, source, reconciler, trimmer, ledger, clusterView, forwarder, densityServing, density };
}

/** Figures that outlive the node (rollout steps, shadow comparisons, last use) and the shadow mirror that makes some of them. */
function figureParts(o: ResolvedPredictionNodeOptions, logger: Logger, metrics: NodeMetrics, usage: UsageSource, serving: ReturnType<typeof servingParts>) {
  // Filed under `{id}.{incarnation}`, so a restarted node with the same id
  // never overwrites its predecessor's figures.
  const incarnation = randomBytes(4).toString('hex');
  const statsPublisher = new StatsPublisher({ etcd: o.etcd, logger, intervalMs: o.statsIntervalMs });
  statsPublisher.add(usage.source);
  statsPublisher.add(
    rolloutStatsSource({
      keys: o.keys,
      nodeId: o.id,
      incarnation,
      routes: () => serving.target.current()?.routes.values() ?? [],
      // Not statsFor: that would create a zero /metrics series for a version this node never loaded.
      counters: (model, version) => metrics.existingStats(model, version)?.counters(),
    }),
  );
  const inFlight = new PrimaryInFlight();
  const shadows = startShadowMirroring({
    metrics,
    publisher: statsPublisher,
    keys: o.keys,
    nodeId: o.id,
    incarnation,
    target: serving.target,
    served: serving.reconciler,
    logger,
    options: o.shadow,
    inFlight,
    onShadowNotLoaded: (model, version) => {
      serving.density.shadowsNotLoaded.inc();
      serving.densityServing.warm(model, version);
    },
  });
  return { statsPublisher, shadows, inFlight };
}

/** What the world sees: the inference server with health, /metrics, and the registration in etcd. */
function serverParts(
  o: ResolvedPredictionNodeOptions,
  logger: Logger,
  credentials: ServerCredentials,
  metrics: NodeMetrics,
  reporter: RuntimeReporter,
  serving: ReturnType<typeof servingParts>,
  figures: ReturnType<typeof figureParts>,
) {
  const health = new NodeHealth(o.drainGraceMs, logger);
  const inFlightBytes = new InFlightBytes(o.maxInFlightBytes);
  metrics.inFlightBytes = () => inFlightBytes.value;
  const server = new InferenceServer({
    listen: o.listen,
    credentials,
    maxMessageBytes: o.maxMessageBytes,
    shutdownDeadlineMs: o.shutdownDeadlineMs,
    logger,
    maxConnections: o.maxConnections,
    connectionIdleMs: o.connectionIdleMs,
    keepaliveTimeMs: o.keepaliveTimeMs,
    keepaliveTimeoutMs: o.keepaliveTimeoutMs,
    maxConcurrentStreams: o.maxConcurrentStreams,
  });
  server.server.addService(
    inferenceService().service,
    inferenceHandlers({
      nodeId: o.id,
      logger,
      metrics,
      table: () => serving.reconciler.table,
      ready: () => health.isServing,
      afterPrimary: figures.shadows.onServed,
      inFlight: figures.inFlight,
      inFlightBytes,
      density: serving.densityServing,
    }),
  );
  health.implementation.addToServer(server.server);
  const metricsServer = o.metricsListen === undefined ? undefined : new MetricsServer(metrics.registry, o.metricsListen);
  const registration = new NodeRegistration({
    reporter,
    keys: o.keys,
    nodeId: o.id,
    addresses: () => ({ address: o.advertise ?? server.address, metricsAddress: metricsServer?.address }),
    logger,
    memoryBudgetBytes: o.memoryBudget.bytes,
  });
  return { health, server, metricsServer, registration };
}
