import { randomBytes } from 'node:crypto';
import type { Etcd3 } from 'etcd3';
import {
  KeyLayout,
  ID_PATTERN,
  splitHostPort,
  systemClock,
  type ClientTlsOptions,
  type Clock,
  type Logger,
  type ServerTlsOptions,
} from '@switchyard/core';
import { createLogger } from '@switchyard/core/logging';
import {
  DEFAULT_INLINE_RUN_LIMIT_MS,
  DEFAULT_LOAD_TIMEOUT_MS,
  DEFAULT_RUN_MEMORY_LIMIT_BYTES,
  DEFAULT_RUN_TIMEOUT_MS,
  type SessionHosting,
} from './model-loader.js';
import { chooseMemoryBudget, type MemoryBudgetChoice } from './memory-budget.js';
import type { ShadowOptions } from './shadow-mirror.js';

/** Options for {@link PredictionNode.create}; {@link resolvePredictionNodeOptions} fills in and checks them. */
export interface PredictionNodeOptions {
  /** The etcd client; the node does not close it. */
  etcd: Etcd3;
  /** Where the target state lives in etcd. @default new KeyLayout() (prefix /switchyard/) */
  keys?: KeyLayout;
  /** Unique node name; letters, digits, '.', '_', '-'. @default "node-" + 8 random hex digits */
  id?: string;
  /** host:port for the inference gRPC server; port 0 picks a free one. @default '127.0.0.1:0' */
  listen?: string;
  /** host:port other processes should use, when it differs from `listen`. @default the bound address */
  advertise?: string;
  /** host:port for the Prometheus /metrics endpoint; port 0 picks a free one. @default none */
  metricsListen?: string;
  /** host:port for the KServe v2 REST/HTTP API (same handlers, TLS and limits as gRPC); port 0 picks a free one. @default none */
  httpListen?: string;
  /** Folder for the artifact cache (`<dataDir>/artifacts`); required. */
  dataDir: string;
  /** @default a JSON logger on stderr, component "prediction-node" */
  logger?: Logger;
  /** Largest request or response message. @default 64 MiB */
  maxMessageBytes?: number;
  /** Fixed control-plane addresses (host:port) for artifact fetches. @default [] (discovered in etcd) */
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
  /**
   * Overrides that choice for every version: 'inline' or 'worker'. Runs of a
   * model whose cost can depend on request values always go to a session
   * process (docs/design.md, "Run limits"). @default 'auto'
   */
  sessionHosting?: SessionHosting;
  /**
   * Longest run of a model version. A run that may be unbounded runs in a
   * session process, which is killed past this (the request fails with
   * DEADLINE_EXCEEDED, the process is replaced); a caller's shorter deadline
   * wins. @default 30000
   */
  runTimeoutMs?: number;
  /** Longest creation of a session in a session process; a load past it fails and is retried. @default 60000 */
  loadTimeoutMs?: number;
  /**
   * Address-space limit (RLIMIT_AS) of each session process: bounds the
   * memory one run can take, outputs included. Node and onnxruntime reserve
   * ≈ 1.1 GB of address space before any model, so at least 1.5 GiB. @default 4 GiB
   */
  runMemoryLimitBytes?: number;
  /**
   * Bytes of ModelInfer requests and responses held by calls in flight, node
   * wide: a request that would pass it is refused with RESOURCE_EXHAUSTED at
   * once. A response counts until the client has read it. @default 256 MiB
   */
  maxInFlightBytes?: number;
  /** Open connections to the inference server at once; more are closed on arrival. @default 4096 */
  maxConnections?: number;
  /** A connection with no call for this long is closed. @default 300000 */
  connectionIdleMs?: number;
  /** How often the server pings each connection, to close those whose peer has gone. @default 60000 */
  keepaliveTimeMs?: number;
  /** A ping unanswered this long closes the connection. @default 20000 */
  keepaliveTimeoutMs?: number;
  /** Calls at once on one connection. @default 128 */
  maxConcurrentStreams?: number;
  /** TTL of the lease the node's registration and status keys are bound to. @default 10 */
  leaseTtlSeconds?: number;
  /** First retry delay after a failed load, doubled per failure. @default 1000 */
  loadRetryMinMs?: number;
  /** Register process-wide metrics (memory, event loop). Only one node per process should. @default false */
  processMetrics?: boolean;
  /** TLS for the inference server (certFile + keyFile; clientCaFile for mutual TLS). @default plaintext */
  tls?: ServerTlsOptions;
  /** Bearer token for the control planes' ArtifactService when their auth is on; viewer is enough. @default none */
  controlPlaneToken?: string;
  /** TLS towards the control planes; an empty object uses the system's roots. @default plaintext */
  controlPlaneTls?: ClientTlsOptions;
  /**
   * TLS towards the other nodes, for requests forwarded to the node holding
   * a version (issue #16): `caFile` verifies their certificates, `certFile`
   * and `keyFile` are presented to nodes that require client certificates.
   * An empty object uses the system's roots.
   * @default TLS with the system's roots when this node serves TLS (`tls`), else plaintext
   */
  peerTls?: ClientTlsOptions;
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
  /** Time the node reports last use in; a fake clock in tests of retirement. @default systemClock */
  clock?: Clock;
  /** Shadow mirroring: queue size, concurrency, time-out, busy threshold (docs/shadows.md). @default see {@link ShadowOptions} */
  shadow?: ShadowOptions;
  /**
   * How long a cached artifact no version record uses any more (a retired
   * version's) stays on disk before it is removed (docs/operations.md). @default 600000
   */
  artifactCacheGraceMs?: number;
  /** Time between two trims of the artifact cache. @default 60000 */
  artifactCacheTrimIntervalMs?: number;
  /**
   * Bytes of model memory this node may hold (issue #16, docs/placement.md):
   * it never loads past it, evicting idle versions loaded on request first,
   * else refusing the load. @default the cgroup's memory limit (v2, then v1)
   * when there is one, else the machine's memory, less a reserve for the
   * process itself (256 MiB plus a tenth)
   */
  memoryBudgetBytes?: number;
}

/** {@link ShadowOptions} with every default filled in. */
export type ResolvedShadowOptions = Required<ShadowOptions>;

/** {@link PredictionNodeOptions} with every default filled in and checked. */
export interface ResolvedPredictionNodeOptions {
  etcd: Etcd3;
  keys: KeyLayout;
  id: string;
  listen: string;
  advertise: string | undefined;
  metricsListen: string | undefined;
  httpListen: string | undefined;
  dataDir: string;
  logger: Logger;
  maxMessageBytes: number;
  controlPlanes: string[];
  intraOpThreads: number;
  inlineRunLimitMs: number;
  sessionHosting: SessionHosting;
  runTimeoutMs: number;
  loadTimeoutMs: number;
  runMemoryLimitBytes: number;
  maxInFlightBytes: number;
  maxConnections: number;
  connectionIdleMs: number;
  keepaliveTimeMs: number;
  keepaliveTimeoutMs: number;
  maxConcurrentStreams: number;
  leaseTtlSeconds: number;
  loadRetryMinMs: number;
  processMetrics: boolean;
  tls: ServerTlsOptions | undefined;
  controlPlaneToken: string | undefined;
  controlPlaneTls: ClientTlsOptions | undefined;
  /** TLS of forwarded calls; undefined: plaintext. */
  peerTls: ClientTlsOptions | undefined;
  drainGraceMs: number;
  shutdownDeadlineMs: number;
  statsIntervalMs: number;
  usageIntervalMs: number;
  clock: Clock;
  shadow: ResolvedShadowOptions;
  artifactCacheGraceMs: number;
  artifactCacheTrimIntervalMs: number;
  /** The budget and where it came from (logged at start). */
  memoryBudget: MemoryBudgetChoice;
}

export const DEFAULT_NODE_MAX_MESSAGE_BYTES = 64 * 1024 * 1024;
export const DEFAULT_MAX_IN_FLIGHT_BYTES = 256 * 1024 * 1024;

/**
 * A {@link PredictionNodeOptions} field holding nonsense. A TypeError, as the
 * style we copy asks; `field` (e.g. `shadow.timeoutMs`) and `reason` let a
 * caller with its own names for the fields (the CLI's flags) restate it.
 */
export class PredictionNodeOptionError extends TypeError {
  constructor(
    readonly field: string,
    readonly reason: string,
  ) {
    super(`${field} ${reason}`);
    this.name = 'PredictionNodeOptionError';
  }
}

const refuse = (field: string, reason: string): never => {
  throw new PredictionNodeOptionError(field, reason);
};

function integer(field: string, value: unknown, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const resolved = value ?? fallback;
  if (typeof resolved !== 'number' || !Number.isSafeInteger(resolved) || resolved < min || resolved > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `${min} or more` : `from ${min} to ${max}`;
    refuse(field, `must be a whole number ${range}, got ${String(value)}`);
  }
  return resolved as number;
}

/** A duration in ms: finite, and above 0 unless `zeroAllowed`. */
function duration(field: string, value: unknown, fallback: number, zeroAllowed: boolean): number {
  const resolved = value ?? fallback;
  if (typeof resolved !== 'number' || !Number.isFinite(resolved) || resolved < 0 || (!zeroAllowed && resolved === 0)) {
    refuse(field, `must be a number of milliseconds ${zeroAllowed ? '0 or more' : 'above 0'}, got ${String(value)}`);
  }
  return resolved as number;
}

function hostPort(field: string, value: unknown): string {
  if (typeof value !== 'string') return refuse(field, `must be host:port, e.g. 0.0.0.0:8001, got ${String(value)}`);
  try {
    splitHostPort(value);
  } catch {
    refuse(field, `'${value}' is not host:port, e.g. 0.0.0.0:8001`);
  }
  return value;
}

function optionalHostPort(field: string, value: unknown): string | undefined {
  return value === undefined ? undefined : hostPort(field, value);
}

function resolveShadow(shadow: ShadowOptions | undefined): ResolvedShadowOptions {
  if (shadow !== undefined && (shadow === null || typeof shadow !== 'object')) refuse('shadow', 'must be an object of shadow options');
  const s = shadow ?? {};
  const busyThreshold = s.busyThreshold ?? 0.6;
  if (typeof busyThreshold !== 'number' || !(busyThreshold > 0 && busyThreshold <= 1)) {
    refuse('shadow.busyThreshold', `must be a fraction above 0 and at most 1 (e.g. 0.6), got ${String(s.busyThreshold)}`);
  }
  return {
    queueSize: integer('shadow.queueSize', s.queueSize, 64, 0, 1_000_000),
    concurrency: integer('shadow.concurrency', s.concurrency, 1, 1, 1024),
    timeoutMs: duration('shadow.timeoutMs', s.timeoutMs, 1000, false),
    maxWaitMs: duration('shadow.maxWaitMs', s.maxWaitMs, 250, false),
    busyThreshold,
  };
}

function resolveTls(tls: ServerTlsOptions | undefined): ServerTlsOptions | undefined {
  if (tls === undefined) return undefined;
  if (tls === null || typeof tls !== 'object') return refuse('tls', 'must be an object with certFile and keyFile; omit it for plaintext');
  for (const field of ['certFile', 'keyFile', 'clientCaFile'] as const) {
    const value = tls[field];
    if (value !== undefined && (typeof value !== 'string' || value === '')) refuse(`tls.${field}`, 'must be a path to a PEM file');
  }
  if (tls.certFile === undefined) refuse('tls.certFile', 'is required with tls (--tls-cert, --tls-key); omit tls for plaintext');
  if (tls.keyFile === undefined) refuse('tls.keyFile', 'is required with tls (--tls-cert, --tls-key); omit tls for plaintext');
  return { ...tls };
}

function flag(field: string, value: unknown): boolean {
  if (value !== undefined && typeof value !== 'boolean') refuse(field, `must be true or false, got ${String(value)}`);
  return value === true;
}

const SESSION_HOSTING: readonly SessionHosting[] = ['auto', 'inline', 'worker'];

/**
 * Fills in every default and refuses nonsense before anything is opened, so a
 * misconfigured node fails at start-up with the field named.
 * @throws PredictionNodeOptionError (a TypeError) naming the bad field.
 */
export function resolvePredictionNodeOptions(options: PredictionNodeOptions): ResolvedPredictionNodeOptions {
  if (options === null || typeof options !== 'object') return refuse('options', 'must be an object');
  if (!options.etcd) refuse('etcd', 'is required: an Etcd3 client');
  if (typeof options.dataDir !== 'string' || options.dataDir === '') refuse('dataDir', 'is required: the folder of the artifact cache');
  const id = options.id ?? `node-${randomBytes(4).toString('hex')}`;
  if (typeof id !== 'string' || !ID_PATTERN.test(id)) refuse('id', `'${String(id)}' must be 1 to 64 characters of a-z, 0-9, '.', '_', '-'`);
  const controlPlanes = options.controlPlanes ?? [];
  if (!Array.isArray(controlPlanes)) refuse('controlPlanes', 'must be a list of host:port addresses');
  controlPlanes.forEach((address, i) => hostPort(`controlPlanes[${i}]`, address));
  const sessionHosting = options.sessionHosting ?? 'auto';
  if (!SESSION_HOSTING.includes(sessionHosting)) refuse('sessionHosting', `must be one of ${SESSION_HOSTING.join(', ')}, got ${String(sessionHosting)}`);
  const token = options.controlPlaneToken;
  if (token !== undefined && (typeof token !== 'string' || token.trim() === '')) refuse('controlPlaneToken', 'must be a non-empty string when given');
  const controlPlaneTls = options.controlPlaneTls;
  if (controlPlaneTls !== undefined && (controlPlaneTls === null || typeof controlPlaneTls !== 'object')) {
    refuse('controlPlaneTls', 'must be an object (empty for the system roots); omit it for plaintext');
  }
  const peerTls = options.peerTls;
  if (peerTls !== undefined && (peerTls === null || typeof peerTls !== 'object')) refuse('peerTls', 'must be an object (empty for the system roots); omit it to follow tls');
  const tls = resolveTls(options.tls);
  return {
    etcd: options.etcd,
    keys: options.keys ?? new KeyLayout(),
    id,
    listen: hostPort('listen', options.listen ?? '127.0.0.1:0'),
    advertise: optionalHostPort('advertise', options.advertise),
    metricsListen: optionalHostPort('metricsListen', options.metricsListen),
    httpListen: optionalHostPort('httpListen', options.httpListen),
    dataDir: options.dataDir,
    logger: options.logger ?? createLogger({ component: 'prediction-node' }),
    maxMessageBytes: integer('maxMessageBytes', options.maxMessageBytes, DEFAULT_NODE_MAX_MESSAGE_BYTES, 1),
    controlPlanes: [...controlPlanes],
    intraOpThreads: integer('intraOpThreads', options.intraOpThreads, 1, 1, 1024),
    inlineRunLimitMs: duration('inlineRunLimitMs', options.inlineRunLimitMs, DEFAULT_INLINE_RUN_LIMIT_MS, true),
    sessionHosting,
    runTimeoutMs: duration('runTimeoutMs', options.runTimeoutMs, DEFAULT_RUN_TIMEOUT_MS, false),
    loadTimeoutMs: duration('loadTimeoutMs', options.loadTimeoutMs, DEFAULT_LOAD_TIMEOUT_MS, false),
    // Node and onnxruntime reserve ≈ 1.1 GB of address space before any model (measured).
    runMemoryLimitBytes: integer('runMemoryLimitBytes', options.runMemoryLimitBytes, DEFAULT_RUN_MEMORY_LIMIT_BYTES, 1536 * 1024 * 1024),
    maxInFlightBytes: integer('maxInFlightBytes', options.maxInFlightBytes, DEFAULT_MAX_IN_FLIGHT_BYTES, 1),
    maxConnections: integer('maxConnections', options.maxConnections, 4096, 1),
    connectionIdleMs: duration('connectionIdleMs', options.connectionIdleMs, 300_000, false),
    keepaliveTimeMs: duration('keepaliveTimeMs', options.keepaliveTimeMs, 60_000, false),
    keepaliveTimeoutMs: duration('keepaliveTimeoutMs', options.keepaliveTimeoutMs, 20_000, false),
    maxConcurrentStreams: integer('maxConcurrentStreams', options.maxConcurrentStreams, 128, 1, 2 ** 31 - 1),
    leaseTtlSeconds: integer('leaseTtlSeconds', options.leaseTtlSeconds, 10, 1),
    loadRetryMinMs: duration('loadRetryMinMs', options.loadRetryMinMs, 1000, false),
    processMetrics: flag('processMetrics', options.processMetrics),
    tls,
    controlPlaneToken: token,
    controlPlaneTls: controlPlaneTls === undefined ? undefined : { ...controlPlaneTls },
    // Nodes of one cluster serve alike: a node serving TLS reaches the others over TLS.
    peerTls: peerTls !== undefined ? { ...peerTls } : tls !== undefined ? {} : undefined,
    drainGraceMs: duration('drainGraceMs', options.drainGraceMs, 2000, true),
    shutdownDeadlineMs: duration('shutdownDeadlineMs', options.shutdownDeadlineMs, 10_000, true),
    statsIntervalMs: duration('statsIntervalMs', options.statsIntervalMs, 5000, false),
    usageIntervalMs: duration('usageIntervalMs', options.usageIntervalMs, 60_000, true),
    clock: options.clock ?? systemClock,
    shadow: resolveShadow(options.shadow),
    artifactCacheGraceMs: duration('artifactCacheGraceMs', options.artifactCacheGraceMs, 600_000, true),
    artifactCacheTrimIntervalMs: duration('artifactCacheTrimIntervalMs', options.artifactCacheTrimIntervalMs, 60_000, false),
    memoryBudget: chooseMemoryBudget(
      options.memoryBudgetBytes === undefined ? undefined : integer('memoryBudgetBytes', options.memoryBudgetBytes, 0, 1024 * 1024),
    ),
  };
}
