import { hostname } from 'node:os';
import { Server, ServerCredentials } from '@grpc/grpc-js';
import { HealthImplementation, type ServingStatus } from 'grpc-health-check';
import {
  ADMIN_SERVICE_NAME,
  ARTIFACT_SERVICE_NAME,
  invalidArgument,
  TokenStore,
  unavailable,
  type ControlPlaneRecord,
  type Logger,
} from '@switchyard/core';
import { adminService, artifactService, describeServerTls, serverCredentials, withAuth } from '@switchyard/core/grpc';
import { composeHandlers } from './admin-handlers.js';
import { AdminService } from './admin-service.js';
import { FileArtifactStore } from './artifact-store-file.js';
import type { ArtifactStore } from './artifact-store.js';
import { ArtifactCollector } from './artifact-collector.js';
import { ArtifactService } from './artifact-service.js';
import { resolveControlPlaneOptions, type ControlPlaneOptions } from './control-plane-options.js';
import { EtcdLeaderElection } from './leader-election.js';
import { LeaseRegistration } from './lease-registration.js';
import { PlacementKeeper } from './placement-keeper.js';
import { RolloutAdmin } from './rollout-admin.js';
import { RolloutController } from './rollout-controller.js';
import { RolloutFiguresReader } from './rollout-figures.js';
import { RolloutMetrics } from './rollout-metrics.js';
import { rolloutPlacementWait } from './rollout-placement.js';
import { TargetStateStore } from './target-state-store.js';
import { createRetirement } from './retirement.js';
import type { Registry } from 'prom-client';
import { ShadowAdmin } from './shadow-admin.js';
import { ShadowKeeper } from './shadow-keeper.js';
import { ConsoleServer } from './console/console-server.js';

/** How long stop() waits for etcd to revoke the registration lease. */
const REVOKE_TIMEOUT_MS = 2000;

const SERVICES = ['', 'switchyard.admin.v1.ModelAdmin', 'switchyard.artifacts.v1.ArtifactService'];

/** Calls at once on one connection. */
const MAX_STREAMS_PER_CONNECTION = 128;
/** Open connections at once; more are closed on arrival. */
const MAX_CONNECTIONS = 4096;

/**
 * grpc-js has no connection cap; Node's own `maxConnections` on the HTTP/2
 * servers it keeps (a private map in grpc-js 1.14) closes each one past it.
 */
function capConnections(server: Server, max: number): void {
  const servers = (server as unknown as { http2Servers?: Map<{ maxConnections: number }, unknown> }).http2Servers;
  if (servers instanceof Map) for (const http2Server of servers.keys()) http2Server.maxConnections = max;
}

/**
 * - RUNNING: serving and registered (or retrying registration) in etcd.
 * - STOPPING: stop() was called; deregistering and draining calls.
 * - STOPPED: the server is shut down; the instance cannot be restarted.
 */
export type ControlPlaneState = 'RUNNING' | 'STOPPING' | 'STOPPED';

function bind(server: Server, listen: string, credentials: ServerCredentials): Promise<number> {
  return new Promise((resolve, reject) => {
    server.bindAsync(listen, credentials, (err, port) => (err ? reject(err) : resolve(port)));
  });
}

/** `listen` with its port replaced by the one actually bound. */
function boundAddress(listen: string, port: number): string {
  return `${listen.slice(0, listen.lastIndexOf(':'))}:${port}`;
}

/** What prediction nodes should dial: a wildcard host is no address to them. */
function defaultAdvertiseAddress(address: string): string {
  const host = address.slice(0, address.lastIndexOf(':'));
  const wildcard = host === '0.0.0.0' || host === '[::]' || host === '::';
  return wildcard ? `${hostname()}${address.slice(address.lastIndexOf(':'))}` : address;
}

function healthStatuses(status: ServingStatus): Record<string, ServingStatus> {
  return Object.fromEntries(SERVICES.map((s) => [s, status]));
}

/**
 * A component that acts only while this replica leads (it watches the
 * Leadership it was given); started after registration, stopped first on
 * shutdown.
 */
interface LeaderWork {
  start(): void;
  stop(): Promise<void>;
}

/**
 * The control plane: one gRPC server with the ModelAdmin API, the
 * ArtifactService nodes download from, and grpc.health.v1; registered in
 * etcd under `keys.controlPlane(id)` (bound to a lease) so nodes can find it.
 */
export class ControlPlane {
  /** host:port the server is bound to. */
  readonly address: string;
  /** host:port written to etcd for the nodes. */
  readonly advertiseAddress: string;
  /** Name of this instance in etcd. */
  readonly id: string;
  /** The artifact store behind UploadArtifact and FetchArtifact. */
  readonly artifacts: ArtifactStore;
  /** Removes store entries no version names and stale upload files, on every replica (its own store). */
  readonly artifactCollector: ArtifactCollector;
  /** The retirement counters (issue #6), for a metrics endpoint to serve. */
  readonly retirementMetrics: Registry;
  /** The rollout transition counters and active gauge (docs/rollouts.md), for a metrics endpoint to serve. */
  readonly rolloutMetrics: Registry;
  /** The web console's URL (docs/console.md), e.g. http://127.0.0.1:7080/; undefined without consoleListen. */
  readonly consoleUrl: string | undefined;

  readonly #server: Server;
  readonly #health: HealthImplementation;
  readonly #registration: LeaseRegistration;
  readonly #logger: Logger;
  readonly #shutdownGraceMs: number;
  readonly #leadership: EtcdLeaderElection;
  readonly #leaderWork: LeaderWork[];
  readonly #console: ConsoleServer | undefined;
  readonly #admin: AdminService;
  #state: ControlPlaneState = 'RUNNING';
  #stopping: Promise<void> | undefined;

  protected constructor(parts: {
    address: string;
    advertiseAddress: string;
    id: string;
    artifacts: ArtifactStore;
    retirementMetrics: Registry;
    rolloutMetrics: Registry;
    server: Server;
    health: HealthImplementation;
    registration: LeaseRegistration;
    logger: Logger;
    shutdownGraceMs: number;
    leadership: EtcdLeaderElection;
    leaderWork: LeaderWork[];
    collector: ArtifactCollector;
    console: ConsoleServer | undefined;
    admin: AdminService;
  }) {
    this.address = parts.address;
    this.advertiseAddress = parts.advertiseAddress;
    this.id = parts.id;
    this.artifacts = parts.artifacts;
    this.retirementMetrics = parts.retirementMetrics;
    this.rolloutMetrics = parts.rolloutMetrics;
    this.#server = parts.server;
    this.#health = parts.health;
    this.#registration = parts.registration;
    this.#logger = parts.logger;
    this.#shutdownGraceMs = parts.shutdownGraceMs;
    this.#leadership = parts.leadership;
    this.#leaderWork = parts.leaderWork;
    this.artifactCollector = parts.collector;
    this.#console = parts.console;
    this.consoleUrl = parts.console?.url;
    this.#admin = parts.admin;
  }

  /** Every metrics registry of this control plane (retirement, rollouts), for a metrics endpoint to serve together. */
  get metrics(): Registry[] {
    return [this.retirementMetrics, this.rolloutMetrics];
  }

  /** Whether this replica currently holds the control-plane election (does the leader-only work). */
  get isLeader(): boolean {
    return this.#leadership.isLeader;
  }

  /**
   * Opens the artifact store, starts serving and registers in etcd. An etcd
   * outage does not fail start-up: registration is retried in the background.
   * @throws TypeError for invalid options; INVALID_ARGUMENT or FAILED_PRECONDITION for a bad
   *   tokens file or unreadable TLS files; UNAVAILABLE when `listen` cannot be bound.
   */
  static async create(options: ControlPlaneOptions): Promise<ControlPlane> {
    const o = resolveControlPlaneOptions(options);
    const logger = o.logger.child({ controlPlaneId: o.id });
    // Tokens and certificates first: a mistake in them should stop start-up
    // before anything is opened or registered.
    const tokens = o.auth.disabled ? null : await TokenStore.load(o.auth);
    if (tokens?.size === 0) {
      throw invalidArgument('no tokens were given (the tokens file or SWITCHYARD_TOKENS lists none), so every call would be refused; add a token first');
    }
    const credentials = serverCredentials(o.tls);
    const artifacts = await FileArtifactStore.create({ dataDir: o.dataDir, logger, clock: o.clock });
    const state = new TargetStateStore({ etcd: o.etcd, keys: o.keys, logger, historyLimit: o.historyEntriesPerModel });

    // Idle and half-dead connections are closed, and each may carry a bounded
    // number of calls (FetchArtifact streams included): 7,000 idle connections
    // were once kept open for good (issue #14).
    const server = new Server({
      'grpc.max_receive_message_length': o.maxMessageBytes,
      'grpc.max_send_message_length': o.maxMessageBytes,
      'grpc.max_connection_idle_ms': o.connectionIdleMs,
      'grpc.keepalive_time_ms': 60_000,
      'grpc.keepalive_timeout_ms': 20_000,
      'grpc.max_concurrent_streams': MAX_STREAMS_PER_CONNECTION,
    });
    // Leader-only work (rollout controller, retirement sweeper, shadow keeper, placer) runs on one
    // replica at a time; every replica serves the admin API.
    const rolloutFigures = new RolloutFiguresReader({ tables: state.tables });
    const rolloutMetrics = new RolloutMetrics();
    const leadership = new EtcdLeaderElection({ etcd: o.etcd, keys: o.keys, name: 'control-plane', candidateId: o.id, logger });
    const retirement = createRetirement({ tables: state.tables, artifacts, leadership, clock: o.clock, logger, options: o.retirement });
    const admin = new AdminService({
      state,
      artifacts,
      logger,
      clock: o.clock,
      maxArtifactBytes: o.maxArtifactBytes,
      uploadIdleTimeoutMs: o.uploadIdleTimeoutMs,
      artifactPath: (sha256) => artifacts.path(sha256),
      validationTimeoutMs: o.validationTimeoutMs,
      validationMemoryBytes: o.validationMemoryBytes,
      // ListVersions, GetVersion and CreateVersion answer with last use and expiry.
      versionHook: retirement.admin,
      placementFillRatio: o.placement.fillRatio,
    });
    const collector = new ArtifactCollector({
      tables: state.tables,
      artifacts,
      clock: o.clock,
      logger: logger.child({ component: 'artifact-collector' }),
      graceMs: o.orphanArtifactGraceMs,
      intervalMs: o.artifactSweepIntervalMs,
    });
    const leaderWork: LeaderWork[] = [
      retirement.sweeper,
      new RolloutController({
        state,
        figures: rolloutFigures,
        leadership,
        clock: o.clock,
        logger,
        tickMs: o.rolloutTickMs,
        metrics: rolloutMetrics,
        notPlaced: rolloutPlacementWait(state.tables),
      }),
      new ShadowKeeper({ state, leadership, logger: logger.child({ component: 'shadow-keeper' }), clock: o.clock, intervalMs: o.shadowKeeperIntervalMs }),
      new PlacementKeeper({ tables: state.tables, leadership, clock: o.clock, logger, intervalMs: o.placementIntervalMs, policy: o.placement }),
    ];
    const adminHandlers = composeHandlers(adminService().service, [
      { owner: 'admin', handlers: admin.handlers() },
      { owner: 'retirement', handlers: retirement.admin.handlers() },
      { owner: 'rollouts', handlers: new RolloutAdmin({ state, figures: rolloutFigures, clock: o.clock, logger, metrics: rolloutMetrics }).handlers() },
      { owner: 'shadows', handlers: new ShadowAdmin({ state, logger, clock: o.clock }).handlers() },
    ]);
    // Health stays outside withAuth: probes carry no token.
    server.addService(adminService().service, withAuth(ADMIN_SERVICE_NAME, adminHandlers, { store: tokens, logger }));
    const artifactHandlers = new ArtifactService({ artifacts, logger }).handlers();
    server.addService(artifactService().service, withAuth(ARTIFACT_SERVICE_NAME, artifactHandlers, { store: tokens, logger }));
    const health = new HealthImplementation(healthStatuses('SERVING'));
    health.addToServer(server);

    let port: number;
    try {
      port = await bind(server, o.listen, credentials);
    } catch (err) {
      server.forceShutdown();
      throw unavailable(`could not listen on ${o.listen} (${(err as Error).message}); choose another address or port`, err);
    }
    capConnections(server, MAX_CONNECTIONS);
    const address = boundAddress(o.listen, port);
    const advertiseAddress = o.advertiseAddress ?? defaultAdvertiseAddress(address);
    let consoleServer: ConsoleServer | undefined;
    if (o.consoleListen !== undefined) {
      try {
        consoleServer = await ConsoleServer.start({
          listen: o.consoleListen,
          adminAddress: address,
          controlPlaneId: o.id,
          isLeader: () => leadership.isLeader,
          logger: logger.child({ component: 'console' }),
        });
      } catch (err) {
        server.forceShutdown();
        throw unavailable(`could not serve the console on ${o.consoleListen} (${(err as Error).message})`, err);
      }
    }

    const startedAt = new Date(o.clock.now()).toISOString();
    const record: ControlPlaneRecord = { id: o.id, address: advertiseAddress, startedAt };
    const registration = new LeaseRegistration({
      etcd: o.etcd,
      key: o.keys.controlPlane(o.id),
      value: () => JSON.stringify(record),
      ttlSeconds: o.leaseTtlSeconds,
      logger,
    });
    await registration.start();
    leadership.start();
    for (const work of leaderWork) work.start();
    collector.start();
    if (tokens === null) logger.warn(`auth is disabled: anyone who can reach ${address} can change what is served`, { address });
    const auth = tokens === null ? 'disabled' : tokens.describe().map((t) => `${t.name}:${t.role}`);
    const tls = describeServerTls(o.tls);
    logger.info('control plane started', { address, advertiseAddress, dataDir: o.dataDir, prefix: o.keys.prefix, auth, tls, console: consoleServer?.url });
    return new ControlPlane({
      address,
      advertiseAddress,
      id: o.id,
      artifacts,
      retirementMetrics: retirement.counters.registry,
      rolloutMetrics: rolloutMetrics.registry,
      server,
      health,
      registration,
      logger,
      shutdownGraceMs: o.shutdownGraceMs,
      leadership,
      leaderWork,
      collector,
      console: consoleServer,
      admin,
    });
  }

  /** Where the instance is in its lifecycle. */
  get state(): ControlPlaneState {
    return this.#state;
  }

  /** Whether the registration key is written under a live lease, as far as this process knows. */
  get registered(): boolean {
    return this.#registration.registered;
  }

  /**
   * Deregisters from etcd (bounded: etcd may be down) and shuts the server
   * down, cancelling calls still running after the grace period. Idempotent.
   */
  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async #stop(): Promise<void> {
    this.#state = 'STOPPING';
    for (const [service, status] of Object.entries(healthStatuses('NOT_SERVING'))) this.#health.setStatus(service, status);
    await Promise.all([...this.#leaderWork.map((work) => work.stop()), this.artifactCollector.stop()]);
    await this.#console?.stop();
    await Promise.all([this.#leadership.stop(REVOKE_TIMEOUT_MS), this.#registration.stop(REVOKE_TIMEOUT_MS), this.#shutdownServer()]);
    await this.#admin.close();
    this.#state = 'STOPPED';
    this.#logger.info('control plane stopped');
  }

  #shutdownServer(): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#logger.warn('calls still running after the shutdown grace period; cancelling them', { graceMs: this.#shutdownGraceMs });
        this.#server.forceShutdown();
        resolve();
      }, this.#shutdownGraceMs);
      this.#server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}
