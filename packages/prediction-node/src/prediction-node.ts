import { BUILD_VERSION, failedPrecondition, GrpcStatus, SwitchyardError, type Logger } from '@switchyard/core';
import { describeServerTls, serverCredentials } from '@switchyard/core/grpc';
import type { RestServer } from './rest-server.js';
import type { InferenceServer } from './inference-server.js';
import { NodeComponents } from './node-component.js';
import { assembleNode } from './node-assembly.js';
import type { NodeHealth } from './node-health.js';
import type { NodeMetrics } from './node-metrics.js';
import { resolvePredictionNodeOptions, type PredictionNodeOptions } from './prediction-node-options.js';
import type { Reconciler } from './reconciler.js';
import type { RoutingTable } from './routing-table.js';
import type { StatsPublisher } from './stats-publisher.js';

export type { PredictionNodeOptions } from './prediction-node-options.js';

/**
 * - STARTING: serving calls, health NOT_SERVING, until the target state is
 *   read and every version it wants has loaded or failed once.
 * - SERVING: health SERVING, ServerReady true.
 * - DRAINING: stop() was called; the components are stopping in reverse order.
 * - STOPPED: everything stopped; the node cannot be started again.
 */
export type NodeState = 'STARTING' | 'SERVING' | 'DRAINING' | 'STOPPED';

/** What {@link PredictionNode}'s constructor is given: the started parts. */
interface StartedNode {
  id: string;
  address: string;
  metricsAddress: string | undefined;
  httpAddress: string | undefined;
  restServer: RestServer | undefined;
  metrics: NodeMetrics;
  statsPublisher: StatsPublisher;
  reconciler: Reconciler;
  health: NodeHealth;
  server: InferenceServer;
  components: NodeComponents;
  logger: Logger;
}

/**
 * A prediction node: serves the KServe v2 protocol for whatever the target
 * state in etcd says, and reports what it has loaded. Stateless: everything
 * it serves comes from etcd and the control plane's artifact store.
 */
export class PredictionNode {
  readonly id: string;
  /** The host:port other processes dial: `advertise`, or the bound inference address. */
  readonly address: string;
  /** The bound host:port of /metrics, when enabled. */
  readonly metricsAddress: string | undefined;
  /** The bound host:port of the KServe v2 REST API, when enabled (`httpListen`). */
  readonly httpAddress: string | undefined;
  readonly metrics: NodeMetrics;
  /** Writes figures that outlive the node; flushed once more on drain. */
  readonly statsPublisher: StatsPublisher;

  readonly #reconciler: Reconciler;
  readonly #health: NodeHealth;
  readonly #server: InferenceServer;
  readonly #restServer: RestServer | undefined;
  readonly #components: NodeComponents;
  readonly #logger: Logger;
  #state: NodeState = 'STARTING';
  #stopping: Promise<void> | undefined;
  /** Settles once: resolved on SERVING, rejected if a drain starts first. */
  readonly #serving: Promise<void>;
  #servingChanged!: { resolve: () => void; reject: (err: Error) => void };

  protected constructor(parts: StartedNode) {
    this.id = parts.id;
    this.address = parts.address;
    this.metricsAddress = parts.metricsAddress;
    this.httpAddress = parts.httpAddress;
    this.#restServer = parts.restServer;
    this.metrics = parts.metrics;
    this.statsPublisher = parts.statsPublisher;
    this.#reconciler = parts.reconciler;
    this.#health = parts.health;
    this.#server = parts.server;
    this.#components = parts.components;
    this.#logger = parts.logger;
    this.#serving = new Promise((resolve, reject) => (this.#servingChanged = { resolve, reject }));
    // ready() callers get the rejection; nobody waiting is no error.
    this.#serving.catch(() => undefined);
  }

  /**
   * Checks the options, builds the node's parts and starts them in order;
   * returns while the node is STARTING (see {@link ready}). An etcd outage
   * does not fail start-up: the node stays NOT_SERVING until it can read.
   * @throws TypeError (PredictionNodeOptionError) naming a bad option, before anything is opened.
   * @throws SwitchyardError when a part cannot start (UNAVAILABLE for an address that cannot be
   *   bound), once every part already started has been stopped again.
   */
  static async create(options: PredictionNodeOptions): Promise<PredictionNode> {
    const o = resolvePredictionNodeOptions(options);
    // Before anything starts: unreadable certificates should fail start-up cleanly.
    const credentials = serverCredentials(o.tls);
    const logger = o.logger.child({ nodeId: o.id });
    const parts = assembleNode(o, logger, credentials);
    const components = new NodeComponents(parts.components, logger);
    await components.start();
    const node = new PredictionNode({
      id: o.id,
      address: o.advertise ?? parts.server.address,
      metricsAddress: parts.metricsServer?.address,
      httpAddress: parts.restServer?.address,
      restServer: parts.restServer,
      metrics: parts.metrics,
      statsPublisher: parts.statsPublisher,
      reconciler: parts.reconciler,
      health: parts.health,
      server: parts.server,
      components,
      logger,
    });
    node.#becomeReadyWhenSettled();
    logger.info('prediction node listening', { address: parts.server.address, metricsAddress: parts.metricsServer?.address, httpAddress: parts.restServer?.address, build: BUILD_VERSION, tls: describeServerTls(o.tls) });
    return node;
  }

  get state(): NodeState {
    return this.#state;
  }

  /** What the node serves right now (tests and diagnostics). */
  get table(): RoutingTable {
    return this.#reconciler.table;
  }

  /** Bytes of model memory held against the budget now: loaded versions as measured, loads in progress as estimated (issue #16). */
  get memoryUsedBytes(): number {
    return this.#reconciler.memoryUsedBytes();
  }

  /**
   * Resolves once the initial target state is read and every version in it loaded or failed once.
   * @throws SwitchyardError DEADLINE_EXCEEDED after `timeoutMs`; FAILED_PRECONDITION once the node is draining.
   */
  async ready(timeoutMs = 30_000): Promise<void> {
    if (this.#state === 'SERVING') return;
    if (this.#state !== 'STARTING') throw failedPrecondition(`node ${this.id} is ${this.#state}`);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new SwitchyardError(GrpcStatus.DEADLINE_EXCEEDED, `node ${this.id} did not become ready within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      await Promise.race([this.#serving, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Drains and stops: the components in reverse start order, which is
   * 1. health NOT_SERVING and ServerReady false at once; the node record says `draining`;
   * 2. calls still accepted for `drainGraceMs`, so health-watching clients move away;
   * 3. the target-state watch, shadow mirroring and cache trimming stopped;
   * 4. registration removed from etcd (lease revoked);
   * 5. server.tryShutdown: new calls refused, in-flight calls finished;
   *    forceShutdown once `shutdownDeadlineMs` has passed, so stop never hangs;
   * 6. the last figures (and last use) written; sessions released; /metrics closed.
   * A second call while draining waits for the first.
   * @param shutdownDeadlineMs overrides the node's `shutdownDeadlineMs` for this stop.
   */
  stop(shutdownDeadlineMs?: number): Promise<void> {
    this.#stopping ??= this.#drain(shutdownDeadlineMs);
    return this.#stopping;
  }

  async #drain(shutdownDeadlineMs: number | undefined): Promise<void> {
    this.#state = 'DRAINING';
    this.#servingChanged.reject(failedPrecondition(`node ${this.id} is DRAINING`));
    if (shutdownDeadlineMs !== undefined) {
      this.#server.shutdownDeadlineMs = shutdownDeadlineMs;
      if (this.#restServer) this.#restServer.shutdownDeadlineMs = shutdownDeadlineMs;
    }
    this.#logger.info('prediction node draining', { shutdownDeadlineMs: this.#server.shutdownDeadlineMs });
    await this.#components.stop();
    this.#state = 'STOPPED';
    this.#logger.info('prediction node stopped');
  }

  #becomeReadyWhenSettled(): void {
    this.#reconciler.whenSettled().then(
      () => {
        if (this.#state !== 'STARTING') return;
        this.#state = 'SERVING';
        this.#health.serving();
        this.#servingChanged.resolve();
        this.#logger.info('prediction node ready');
      },
      // Stopped before it settled: the drain has rejected ready() already.
      () => undefined,
    );
  }
}
