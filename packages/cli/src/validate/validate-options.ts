import { availableParallelism, totalmem } from 'node:os';
import type { Command } from 'commander';
import { DEFAULT_PREFIX, splitHostPort, type ClientTlsOptions, type EtcdConnectionOptions } from '@switchyard/core';
import { bearerMetadata } from '@switchyard/core/grpc';
import { parseByteSize } from '../byte-size.js';
import { resolveClientTls } from '../client-connection.js';
import type { ClientFlags } from '../client-options.js';
import { readClusterFile } from '../cluster-file.js';
import { shownPath } from '../control-plane-address.js';
import { parseDuration } from '../duration.js';
import { etcdConnection, type EtcdFlags } from '../etcd-options.js';
import { usageError } from '../exit-codes.js';
import { integerFlag } from '../integer-flag.js';
import { readLocalToken } from '../local-token.js';

/** The flags of `switchyard validate`, as commander parses them. */
export interface ValidateFlags extends ClientFlags, EtcdFlags {
  etcd?: string;
  prefix?: string;
  all?: boolean;
  model?: string[];
  against?: string;
  concurrency?: string;
  maxMemory?: string;
  timeout: string;
  requireSamples?: boolean;
  reportJson?: string;
  reportJunit?: string;
}

/** Everything a validation run needs, checked. */
export interface ValidateSettings {
  etcd: EtcdConnectionOptions;
  prefix: string;
  /** Empty: discover the control planes in etcd. */
  controlPlanes: string[];
  token?: string;
  tls?: ClientTlsOptions;
  all: boolean;
  models: string[];
  against?: string;
  concurrency: number;
  maxMemoryBytes: number;
  timeoutMs: number;
  requireSamples: boolean;
  reportJson?: string;
  reportJunit?: string;
}

/** Half the machine: validation shares it with whatever else the CI runner does. */
export const defaultMaxMemory = (): number => Math.floor(totalmem() / 2);

function hostPort(flag: string, value: string): string {
  try {
    splitHostPort(value);
  } catch {
    throw usageError(`${flag} '${value}' is not host:port, e.g. 127.0.0.1:8001`);
  }
  return value;
}

/**
 * Checks the flags. Without --etcd, the local cluster `switchyard up` wrote
 * in --data-dir gives the etcd endpoints, prefix and token.
 * @throws CliError (usage) naming the flag.
 */
export function resolveValidateSettings(command: Command): ValidateSettings {
  const flags = command.opts<ValidateFlags>();
  let endpoints = flags.etcd;
  let prefix = flags.prefix;
  let token = flags.token || undefined;
  if (!endpoints) {
    let cluster;
    try {
      cluster = readClusterFile(flags.dataDir);
    } catch (err) {
      throw usageError(`cannot read the cluster file in ${shownPath(flags.dataDir)}: ${(err as Error).message}`);
    }
    if (!cluster) throw usageError(`--etcd is required (no local cluster in ${shownPath(flags.dataDir)} to take it from); e.g. --etcd http://10.0.0.1:2379`);
    endpoints = cluster.etcd;
    prefix ??= cluster.prefix;
    token ??= readLocalToken(flags.dataDir);
  }
  prefix ??= DEFAULT_PREFIX;
  if (!prefix.startsWith('/')) throw usageError(`--prefix '${prefix}' must start with '/', e.g. /switchyard/`);
  if (token !== undefined) {
    try {
      bearerMetadata(token);
    } catch (err) {
      throw usageError(`the token is malformed: ${(err as Error).message}`);
    }
  }
  const tls = resolveClientTls(flags);
  const models = flags.model ?? [];
  return {
    etcd: etcdConnection(endpoints, flags),
    prefix,
    controlPlanes: flags.controlPlane ? [hostPort('--control-plane', flags.controlPlane)] : [],
    ...(token !== undefined ? { token } : {}),
    ...(tls ? { tls } : {}),
    all: Boolean(flags.all),
    models,
    ...(flags.against ? { against: hostPort('--against', flags.against) } : {}),
    concurrency: flags.concurrency === undefined ? Math.max(1, availableParallelism()) : integerFlag('--concurrency', flags.concurrency, 1, 256),
    maxMemoryBytes: flags.maxMemory === undefined ? defaultMaxMemory() : parseByteSize(flags.maxMemory, '--max-memory'),
    timeoutMs: parseDuration(flags.timeout, '--timeout'),
    requireSamples: Boolean(flags.requireSamples),
    ...(flags.reportJson ? { reportJson: flags.reportJson } : {}),
    ...(flags.reportJunit ? { reportJunit: flags.reportJunit } : {}),
  };
}
