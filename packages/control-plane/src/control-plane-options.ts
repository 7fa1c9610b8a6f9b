import { hostname } from 'node:os';
import type { Etcd3 } from 'etcd3';
import { KeyLayout, NAME_PATTERN, createLogger, systemClock, type Clock, type Logger } from '@switchyard/core';

/** Options for {@link ControlPlane.create}. */
export interface ControlPlaneOptions {
  /** The etcd client; the control plane does not close it. */
  etcd: Etcd3;
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
  /** Largest gRPC message sent or received. @default 4 MiB (grpc's own default) */
  maxMessageBytes?: number;
  /** TTL of the lease the registration is bound to. @default 10 */
  leaseTtlSeconds?: number;
  /** How long stop() lets in-flight calls finish before cancelling them. @default 5000 */
  shutdownGraceMs?: number;
}

/** {@link ControlPlaneOptions} with every default filled in and checked. */
export interface ResolvedControlPlaneOptions {
  etcd: Etcd3;
  keys: KeyLayout;
  dataDir: string;
  listen: string;
  advertiseAddress: string | undefined;
  id: string;
  logger: Logger;
  clock: Clock;
  maxArtifactBytes: number;
  maxMessageBytes: number;
  leaseTtlSeconds: number;
  shutdownGraceMs: number;
}

export const DEFAULT_MAX_ARTIFACT_BYTES = 256 * 1024 * 1024;
export const DEFAULT_MAX_MESSAGE_BYTES = 4 * 1024 * 1024;

function defaultId(): string {
  const host = hostname().toLowerCase().replace(/[^a-z0-9._-]+/g, '-').replace(/^[^a-z0-9]+|[^a-z0-9]+$/g, '');
  return `${host.slice(0, 50) || 'control-plane'}-${process.pid}`;
}

function positiveInteger(name: string, value: number | undefined, fallback: number): number {
  const resolved = value ?? fallback;
  if (!Number.isSafeInteger(resolved) || resolved <= 0) throw new TypeError(`${name} must be a positive integer, got ${value}`);
  return resolved;
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
  if (!NAME_PATTERN.test(id)) throw new TypeError(`id '${id}' must be 1 to 64 characters of a-z, 0-9, '.', '_', '-'`);
  const listen = options.listen ?? '127.0.0.1:0';
  if (!/^.+:\d+$/.test(listen)) throw new TypeError(`listen '${listen}' must be host:port, e.g. 0.0.0.0:7070`);
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
    leaseTtlSeconds: positiveInteger('leaseTtlSeconds', options.leaseTtlSeconds, 10),
    shutdownGraceMs: positiveInteger('shutdownGraceMs', options.shutdownGraceMs, 5000),
  };
}
