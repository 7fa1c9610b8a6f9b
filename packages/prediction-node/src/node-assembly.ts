import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { ServerCredentials } from '@grpc/grpc-js';
import type { Logger } from '@switchyard/core';
import { channelCredentials, inferenceService } from '@switchyard/core/grpc';
import { ArtifactCache } from './artifact-cache.js';
import { ArtifactCacheTrimmer, artifactCacheMetrics, loadedArtifacts, wantedArtifactsYielding } from './artifact-cache-trimmer.js';
import { ControlPlaneArtifactSource } from './artifact-fetcher.js';
import { ClusterViewMirror } from './cluster-view.js';
import { densityMetrics, type DensityMetrics } from './density-metrics.js';
import { DensityServing } from './density-serving.js';
import { MemoryLedger } from './memory-ledger.js';
import { NodeForwarder } from './node-forwarder.js';
import { NodeMemoryReporter } from './node-memory-reporter.js';
import { InferenceServer } from './inference-server.js';
import { InFlightBytes } from './in-flight-bytes.js';
import { LoadPipeline } from './load-pipeline.js';
import { inferenceHandlers } from './inference-service.js';
import { MetricsServer } from './metrics-server.js';
import { ModelLoader } from './model-loader.js';
import type { NodeComponent } from './node-component.js';
import { NodeHealth } from './node-health.js';
import { NodeMetrics } from './node-metrics.js';
import { queueMetrics, type QueueStats } from './queue-metrics.js';
import { advertisedHttpAddress, NodeRegistration, NodeStatusSink } from './node-registration.js';
import type { ResolvedPredictionNodeOptions } from './prediction-node-options.js';
import { PrimaryInFlight } from './primary-in-flight.js';
import { Reconciler, type StatusSink } from './reconciler.js';
import { RestServer } from './rest-server.js';
import { NodeTracing, tracedHandlers } from './tracing.js';
import { rolloutStatsSource } from './rollout-stats-source.js';
import { RuntimeReporter } from './runtime-reporter.js';
import { startShadowMirroring } from './shadow-node.js';
import { StatsPublisher } from './stats-publisher.js';
import { TargetStateMirror } from './target-state-mirror.js';
import { BASE_EXTENSIONS, queueFigures, tritonExtensionHandlers } from './triton-extensions.js';
import { LocalVersionStates } from './version-states.js';
import { clockOffset, UsageSource } from './usage-source.js';

/**
 * Loads the reconciler starts at once: their artifacts are fetched, verified
 * and read while they wait for their turn at session creation (one at a
 * time, load-pipeline.ts).
 */
const PREPARED_LOADS = 8;

/** A node's parts, built and connected but not started. */
export interface NodeAssembly {
  metrics: NodeMetrics;
  reconciler: Reconciler;
  statsPublisher: StatsPublisher;
  health: NodeHealth;
  server: InferenceServer;
  metricsServer: MetricsServer | undefined;
  /** The KServe v2 REST API, when `httpListen` is set. */
  restServer: RestServer | undefined;
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
  const states = new LocalVersionStates(new NodeStatusSink({ reporter, keys: o.keys, nodeId: o.id, metrics, usage }));
  const serving = servingParts(o, logger, metrics, states);
  const tracing = NodeTracing.fromEnv(o.id, logger);
  const figures = figureParts(o, logger, metrics, usage, serving, tracing);
  const servers = serverParts(o, logger, credentials, metrics, reporter, serving, figures, states, tracing);
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
    // Stopped after the servers, so the spans of the last requests are sent.
    ...(tracing ? [tracing] : []),
    { name: 'artifact-source', start: () => undefined, stop: () => serving.source.close() },
    { name: 'sessions', start: () => undefined, stop: () => serving.reconciler.stop() },
    figures.statsPublisher,
    servers.server,
    ...(servers.restServer ? [servers.restServer] : []),
    servers.registration,
    memoryRecord,
    serving.clusterView,
    { name: 'forwarder', start: () => undefined, stop: () => serving.forwarder.close() },
    serving.trimmer,
    figures.shadows,
    serving.target,
    servers.health,
  ];
  return { metrics, reconciler: serving.reconciler, statsPublisher: figures.statsPublisher, health: servers.health, server: servers.server, metricsServer: servers.metricsServer, restServer: servers.restServer, components };
}

/** What decides and holds what the node serves: target state, artifacts, sessions. */
function servingParts(o: ResolvedPredictionNodeOptions, logger: Logger, metrics: NodeMetrics, status: StatusSink) {
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
    // Artifacts of up to PREPARED_LOADS versions fetched, verified and read ahead; sessions created one at a time.
    loader: metrics.timedLoads(new LoadPipeline({ loader })),
    loadConcurrency: PREPARED_LOADS,
    status,
    logger,
    retryMinMs: o.loadRetryMinMs,
    onTable: (table) => metrics.observeTable(table),
    density: {
      nodeId: o.id,
      memory: ledger,
      onEvicted: () => density.evictions.inc(),
      heldElsewhere: (key) => clusterView.holders(key).some((id) => id !== o.id),
      onRefused: (record, reason) => {
        density.refusals.inc();
        logger.warn('model version refused: it does not fit the memory budget', { model: record.model, version: record.version, reason });
      },
    },
  });
  const clusterView = new ClusterViewMirror({ etcd: o.etcd, keys: o.keys, logger });
  // Over TLS when the node serves TLS or peerTls is set; the files are read now, so a bad one fails start-up.
  const forwarder = new NodeForwarder({ nodeId: o.id, maxMessageBytes: o.maxMessageBytes, credentials: channelCredentials(o.peerTls) });
  if (o.peerTls) logger.info('forwarding to other nodes over TLS', { peerCa: o.peerTls.caFile ?? "the system's roots", clientCertificate: o.peerTls.certFile ?? 'none' });
  const densityServing = new DensityServing({
    nodeId: o.id,
    logger,
    metrics: density,
    table: () => reconciler.table,
    target: () => target.current(),
    view: clusterView,
    demand: (model, version) => reconciler.demand(model, version),
    forwarder,
    maxColdWaitMs: o.loadTimeoutMs,
  });
  // Per loaded version, gone with it: the series stay bounded by what is loaded (apart from node-metrics.ts, issue #17).
  // Per-version queue series, like the request series, only for the versions active lately (node-metrics.ts).
  const queued = (): QueueStats[] => [...reconciler.table.versions.values()].filter((v) => metrics.hasSeries(v.model, v.version)).map((v) => v.queueStats);
  for (const metric of queueMetrics(queued)) metrics.registry.registerMetric(metric);
  const trimmer = new ArtifactCacheTrimmer({
    cache,
    wanted: () => {
      const state = target.current();
      // Until every version is read, an artifact no route names may still be wanted.
      return state && state.complete !== false ? wantedArtifactsYielding(state) : undefined;
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
function figureParts(o: ResolvedPredictionNodeOptions, logger: Logger, metrics: NodeMetrics, usage: UsageSource, serving: ReturnType<typeof servingParts>, tracing: NodeTracing | undefined) {
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
    ...(tracing ? { onShadowRun: tracing.onShadowRun } : {}),
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
  states: LocalVersionStates,
  tracing: NodeTracing | undefined,
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
  const untraced = {
    ...inferenceHandlers({
      nodeId: o.id,
      logger,
      metrics,
      table: () => serving.reconciler.table,
      ready: () => health.isServing,
      afterPrimary: figures.shadows.onServed,
      inFlight: figures.inFlight,
      inFlightBytes,
      density: serving.densityServing,
      ...(tracing ? { tracing } : {}),
    }),
    // Triton's extensions (statistics, repository index, ServerMetadata listing them) on the same service.
    ...tritonExtensionHandlers({
      nodeId: o.id,
      table: () => serving.reconciler.table,
      states: () => states.list(),
      // The version queues' figures (#17): queue wait and runs; versions run inline at once have none.
      queueFigures: {
        figures: (model, version) => queueFigures(serving.reconciler.table.versions.get(`${model}/${version}`)?.queueStats),
      },
      extensions: [...BASE_EXTENSIONS, ...(o.httpListen !== undefined ? ['binary_tensor_data'] : [])],
    }),
  };
  const handlers = tracing ? tracedHandlers(untraced, tracing, o.id) : untraced;
  server.server.addService(inferenceService().service, handlers);
  const restServer =
    o.httpListen === undefined
      ? undefined
      : new RestServer({ listen: o.httpListen, handlers, maxBodyBytes: o.maxMessageBytes, tls: o.tls, shutdownDeadlineMs: o.shutdownDeadlineMs, logger });
  health.implementation.addToServer(server.server);
  const metricsServer = o.metricsListen === undefined ? undefined : new MetricsServer(metrics.registry, o.metricsListen);
  const registration = new NodeRegistration({
    reporter,
    keys: o.keys,
    nodeId: o.id,
    addresses: () => ({ address: o.advertise ?? server.address, metricsAddress: metricsServer?.address, httpAddress: restServer && advertisedHttpAddress(restServer.address, o.advertise) }),
    logger,
    memoryBudgetBytes: o.memoryBudget.bytes,
  });
  return { health, server, metricsServer, registration, restServer };
}
