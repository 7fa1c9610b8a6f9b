import { hostname } from 'node:os';
import { DEFAULT_HISTORY_LIMIT } from './etcd-audit.js';
import type { EtcdClient } from './etcd-client.js';
import { DEFAULT_PLACEMENT_POLICY, type PlacementPolicy } from './placement-decision.js';
import { resolveRetirementOptions, type ResolvedRetirementOptions, type RetirementOptions } from './retirement-options.js';
import { KeyLayout, ID_PATTERN, systemClock, type Clock, type Logger, type ServerTlsOptions } from '@switchyard/core';
import { createLogger } from '@switchyard/core/logging';

/**
 * Access control for ModelAdmin and ArtifactService: bearer tokens, or an
 * explicit `disabled: true`. Exactly one of the two is required, so a server
 * never ends up open by omission.
 */
export interface ControlPlaneAuthOptions {
  /** Path of a tokens file (`{"tokens":[{name, role, sha256}]}`). */
  tokensFile?: string;
  /** Tokens as JSON in the same format, e.g. the value of SWITCHYARD_TOKENS. */
  tokensJson?: string;
  /** Serve without access control; a warning is logged at start. @default false */
  disabled?: boolean;
}

/** {@link ControlPlaneAuthOptions} after checking: tokens to load, or off. */
export type ResolvedAuthOptions = { disabled: true } | { disabled: false; tokensFile?: string; tokensJson?: string };

/** Options for {@link ControlPlane.create}. */
export interface ControlPlaneOptions {
  /** The etcd client; the control plane does not close it. */
  etcd: EtcdClient;
  /** Where the target state lives in etcd. @default new KeyLayout() (prefix /switchyard/) */
  keys?: KeyLayout;
  /** Directory of the artifact store (`<dataDir>/artifacts/sha256/`). */
  dataDir: string;
  /** host:port to serve gRPC on; port 0 picks a free one. @default '127.0.0.1:0' */
  listen?: string;
  /**
   * host:port that prediction nodes should dial, written to etcd.
   * @default the bound address; the machine's hostname when listening on a wildcard host
   */
  advertiseAddress?: string;
  /** Name of this instance in etcd; letters, digits, '.', '_', '-'. @default `<hostname>-<pid>` */
  id?: string;
  /** @default a JSON logger on stderr, component "control-plane" */
  logger?: Logger;
  /** @default systemClock */
  clock?: Clock;
  /** Largest artifact UploadArtifact accepts. @default 256 MiB */
  maxArtifactBytes?: number;
  /**
   * An upload that receives nothing for this long is cancelled
   * (DEADLINE_EXCEEDED) and its temp file removed. @default 60000
   */
  uploadIdleTimeoutMs?: number;
  /**
   * Store entries no version names (an upload never turned into a version,
   * the samples of a CreateVersion that failed) are deleted this long after
   * they were last uploaded. @default 1 hour
   */
  orphanArtifactGraceMs?: number;
  /** Real time between two sweeps of the artifact store for such entries and stale upload files. @default 600000 (10 min) */
  artifactSweepIntervalMs?: number;
  /** Largest gRPC message sent or received. @default 4 MiB (grpc's own default) */
  maxMessageBytes?: number;
  /** A connection with no call for this long is closed (docs/operations.md, Limits). @default 300000 */
  connectionIdleMs?: number;
  /** TTL of the lease the registration is bound to. @default 10 */
  leaseTtlSeconds?: number;
  /** How long stop() lets in-flight calls finish before cancelling them. @default 5000 */
  shutdownGraceMs?: number;
  /** Limit on deploy-time validation of one version (loading it and running its samples). @default 30000 */
  validationTimeoutMs?: number;
  /**
   * Cap on the memory of each validation process, which opens and runs an
   * uploaded model (its data size, Node's ≈ 100 MB included; set with
   * `ulimit -d` on Linux). A version whose validation needs more is REJECTED.
   * 0 turns the cap off. @default 2 GiB
   */
  validationMemoryBytes?: number;
  /** Tokens for the admin and artifact APIs, or `{ disabled: true }`; required. */
  auth: ControlPlaneAuthOptions;
  /** TLS for the gRPC server (certFile + keyFile; clientCaFile for mutual TLS). @default plaintext */
  tls?: ServerTlsOptions;
  /** Auto-retirement of unused versions (docs/retirement.md). @default 30 d expiration, 7 d warning, 7 d artifact retention */
  retirement?: RetirementOptions;
  /** How often the leader's rollout controller checks active rollouts (docs/rollouts.md). @default 1000 */
  rolloutTickMs?: number;
  /**
   * How often the leader's shadow keeper removes shadows past their `until`
   * or budget (docs/shadows.md); a budget overshoots by up to this much
   * traffic. @default 5000
   */
  shadowKeeperIntervalMs?: number;
  /**
   * How often the leader's placer decides where versions are kept loaded
   * when nothing wakes it sooner (a node joining or leaving, a route or model
   * changing wakes it at once; docs/placement.md). @default 10000
   */
  placementIntervalMs?: number;
  /** The placer's knobs (docs/placement.md). @default DEFAULT_PLACEMENT_POLICY */
  placement?: Partial<PlacementPolicy>;
  /**
   * host:port to serve the web console on (docs/console.md); port 0 picks a
   * free one. It calls this control plane's own admin API with each signed-in
   * person's token. @default no console
   */
  consoleListen?: string;
  /**
   * Newest audit entries kept per model (`switchyard history`); a log that
   * reached it is trimmed to 90 % of it by the next write
   * (docs/operations.md#limits).
   * @default 1000
   */
  historyEntriesPerModel?: number;
}

/** {@link ControlPlaneOptions} with every default filled in and checked. */
export interface ResolvedControlPlaneOptions {
  etcd: EtcdClient;
  keys: KeyLayout;
  dataDir: string;
  listen: string;
  advertiseAddress: string | undefined;
  id: string;
  logger: Logger;
  clock: Clock;
  maxArtifactBytes: number;
  maxMessageBytes: number;
  connectionIdleMs: number;
  uploadIdleTimeoutMs: number;
  orphanArtifactGraceMs: number;
  artifactSweepIntervalMs: number;
  leaseTtlSeconds: number;
  shutdownGraceMs: number;
  validationTimeoutMs: number;
  /** undefined: no cap. */
  validationMemoryBytes: number | undefined;
  auth: ResolvedAuthOptions;
  tls: ServerTlsOptions | undefined;
  retirement: ResolvedRetirementOptions;
  rolloutTickMs: number;
  shadowKeeperIntervalMs: number;
  placementIntervalMs: number;
  placement: PlacementPolicy;
  historyEntriesPerModel: number;
  consoleListen: string | undefined;
}

export const DEFAULT_MAX_ARTIFACT_BYTES = 256 * 1024 * 1024;
export const DEFAULT_MAX_MESSAGE_BYTES = 4 * 1024 * 1024;
export const DEFAULT_UPLOAD_IDLE_TIMEOUT_MS = 60_000;
export const DEFAULT_ORPHAN_ARTIFACT_GRACE_MS = 60 * 60 * 1000;
/** A 256 MiB model (the default artifact limit) needs about three times its size to load, plus Node's own. */
export const DEFAULT_VALIDATION_MEMORY_BYTES = 2 * 1024 ** 3;
/** Below this Node and onnxruntime cannot start, so every version would be REJECTED. */
const MIN_VALIDATION_MEMORY_BYTES = 128 * 1024 ** 2;

function validationMemory(value: number | undefined): number | undefined {
  const resolved = value ?? DEFAULT_VALIDATION_MEMORY_BYTES;
  if (resolved === 0) return undefined;
  if (!Number.isSafeInteger(resolved) || resolved < MIN_VALIDATION_MEMORY_BYTES) {
    throw new TypeError(`validationMemoryBytes must be 0 (no cap) or at least ${MIN_VALIDATION_MEMORY_BYTES} (128 MiB), got ${value}`);
  }
  return resolved;
}

function defaultId(): string {
  const host = hostname().toLowerCase().replace(/[^a-z0-9._-]+/g, '-').replace(/^[^a-z0-9]+|[^a-z0-9]+$/g, '');
  return `${host.slice(0, 50) || 'control-plane'}-${process.pid}`;
}

const NO_AUTH_CHOICE =
  'pass tokens (auth.tokensFile / auth.tokensJson, i.e. --tokens-file or SWITCHYARD_TOKENS) or turn access control off explicitly (auth.disabled: true, i.e. --insecure-no-auth)';

function resolveAuth(auth: ControlPlaneAuthOptions | undefined): ResolvedAuthOptions {
  if (auth === undefined || auth === null || typeof auth !== 'object') throw new TypeError(`auth is required: ${NO_AUTH_CHOICE}`);
  for (const field of ['tokensFile', 'tokensJson'] as const) {
    const value = auth[field];
    if (value !== undefined && (typeof value !== 'string' || value.trim() === '')) throw new TypeError(`auth.${field} must be a non-empty string`);
  }
  const hasTokens = auth.tokensFile !== undefined || auth.tokensJson !== undefined;
  if (auth.disabled === true) {
    if (hasTokens) throw new TypeError('auth.disabled cannot be combined with auth.tokensFile or auth.tokensJson; choose one');
    return { disabled: true };
  }
  if (!hasTokens) throw new TypeError(`auth needs tokens or disabled: true: ${NO_AUTH_CHOICE}`);
  return {
    disabled: false,
    ...(auth.tokensFile !== undefined ? { tokensFile: auth.tokensFile } : {}),
    ...(auth.tokensJson !== undefined ? { tokensJson: auth.tokensJson } : {}),
  };
}

function resolveTls(tls: ServerTlsOptions | undefined): ServerTlsOptions | undefined {
  if (tls === undefined) return undefined;
  for (const field of ['certFile', 'keyFile', 'clientCaFile'] as const) {
    const value = tls[field];
    if (value !== undefined && (typeof value !== 'string' || value === '')) throw new TypeError(`tls.${field} must be a path to a PEM file`);
  }
  if (tls.certFile === undefined || tls.keyFile === undefined) {
    throw new TypeError('tls needs both certFile and keyFile (--tls-cert, --tls-key); omit tls for plaintext');
  }
  return { ...tls };
}

function positiveInteger(name: string, value: number | undefined, fallback: number): number {
  const resolved = value ?? fallback;
  if (!Number.isSafeInteger(resolved) || resolved <= 0) throw new TypeError(`${name} must be a positive integer, got ${value}`);
  return resolved;
}

function resolvePlacementPolicy(given: Partial<PlacementPolicy> = {}): PlacementPolicy {
  const policy = { ...DEFAULT_PLACEMENT_POLICY, ...given };
  const check = (field: keyof PlacementPolicy, ok: (v: number) => boolean, what: string): void => {
    if (!Number.isFinite(policy[field]) || !ok(policy[field])) throw new TypeError(`placement.${field} must be ${what}, got ${given[field]}`);
  };
  check('ratePerCopy', (v) => v > 0, 'a positive number of requests per second');
  check('scaleDownShare', (v) => v > 0 && v <= 1, 'more than 0 and at most 1');
  check('quietMs', (v) => v >= 0, '0 or more milliseconds');
  check('minCopyAgeMs', (v) => v >= 0, '0 or more milliseconds');
  check('fillRatio', (v) => v > 0 && v <= 1, 'more than 0 and at most 1');
  check('displacedCooldownMs', (v) => v >= 0, '0 or more milliseconds');
  return policy;
}

/**
 * Fills in defaults and rejects nonsense up front, so a misconfigured control
 * plane fails at start-up with the field named.
 * @throws TypeError naming the bad field.
 */
export function resolveControlPlaneOptions(options: ControlPlaneOptions): ResolvedControlPlaneOptions {
  if (!options.etcd) throw new TypeError('etcd (an Etcd3 client) is required');
  if (!options.dataDir) throw new TypeError('dataDir is required: the directory of the artifact store');
  const id = options.id ?? defaultId();
  if (!ID_PATTERN.test(id)) throw new TypeError(`id '${id}' must be 1 to 64 characters of a-z, 0-9, '.', '_', '-'`);
  const listen = options.listen ?? '127.0.0.1:0';
  if (!/^.+:\d+$/.test(listen)) throw new TypeError(`listen '${listen}' must be host:port, e.g. 0.0.0.0:7070`);
  const consoleListen = options.consoleListen;
  if (consoleListen !== undefined) {
    if (typeof consoleListen !== 'string' || !/^.+:\d+$/.test(consoleListen)) throw new TypeError(`consoleListen '${consoleListen}' must be host:port, e.g. 127.0.0.1:7080`);
    if (options.tls !== undefined) {
      throw new TypeError('consoleListen cannot be combined with tls yet: the console calls the admin API over plaintext loopback (docs/console.md)');
    }
  }
  return {
    etcd: options.etcd,
    keys: options.keys ?? new KeyLayout(),
    dataDir: options.dataDir,
    listen,
    advertiseAddress: options.advertiseAddress,
    id,
    logger: options.logger ?? createLogger({ component: 'control-plane' }),
    clock: options.clock ?? systemClock,
    maxArtifactBytes: positiveInteger('maxArtifactBytes', options.maxArtifactBytes, DEFAULT_MAX_ARTIFACT_BYTES),
    maxMessageBytes: positiveInteger('maxMessageBytes', options.maxMessageBytes, DEFAULT_MAX_MESSAGE_BYTES),
    connectionIdleMs: positiveInteger('connectionIdleMs', options.connectionIdleMs, 300_000),
    uploadIdleTimeoutMs: positiveInteger('uploadIdleTimeoutMs', options.uploadIdleTimeoutMs, DEFAULT_UPLOAD_IDLE_TIMEOUT_MS),
    orphanArtifactGraceMs: positiveInteger('orphanArtifactGraceMs', options.orphanArtifactGraceMs, DEFAULT_ORPHAN_ARTIFACT_GRACE_MS),
    artifactSweepIntervalMs: positiveInteger('artifactSweepIntervalMs', options.artifactSweepIntervalMs, 10 * 60 * 1000),
    leaseTtlSeconds: positiveInteger('leaseTtlSeconds', options.leaseTtlSeconds, 10),
    shutdownGraceMs: positiveInteger('shutdownGraceMs', options.shutdownGraceMs, 5000),
    validationTimeoutMs: positiveInteger('validationTimeoutMs', options.validationTimeoutMs, 30_000),
    validationMemoryBytes: validationMemory(options.validationMemoryBytes),
    auth: resolveAuth(options.auth),
    tls: resolveTls(options.tls),
    retirement: resolveRetirementOptions(options.retirement),
    rolloutTickMs: positiveInteger('rolloutTickMs', options.rolloutTickMs, 1000),
    shadowKeeperIntervalMs: positiveInteger('shadowKeeperIntervalMs', options.shadowKeeperIntervalMs, 5000),
    placementIntervalMs: positiveInteger('placementIntervalMs', options.placementIntervalMs, 10_000),
    placement: resolvePlacementPolicy(options.placement),
    historyEntriesPerModel: positiveInteger('historyEntriesPerModel', options.historyEntriesPerModel, DEFAULT_HISTORY_LIMIT),
    consoleListen,
  };
}
