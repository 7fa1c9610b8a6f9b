import type { Command } from 'commander';
import { AdminClient } from '@switchyard/client';
import { type ClientTlsOptions } from '@switchyard/core';
import { readPemFile } from '@switchyard/core';
import { bearerMetadata } from '@switchyard/core/grpc';
import { CLIENT_ENV, type ClientFlags } from './client-options.js';
import { readClusterFile } from './cluster-file.js';
import { resolveControlPlane, shownPath, type ResolvedAddress } from './control-plane-address.js';
import { usageError } from './exit-codes.js';
import { readLocalToken, tokenFilePath } from './local-token.js';

/** Everything a client command needs to reach the control plane, with where each part came from. */
export interface ClientConnection extends ResolvedAddress {
  token?: string;
  tokenSource?: string;
  tls?: ClientTlsOptions;
}

/** "--token" or "SWITCHYARD_TOKEN": which of a flag and its variable gave the value commander parsed. */
function sourceOf(command: Command, key: keyof typeof CLIENT_ENV, flag: string): string {
  return command.getOptionValueSource(key) === 'env' ? CLIENT_ENV[key] : flag;
}

/**
 * The bearer token: --token, else SWITCHYARD_TOKEN, else `<data-dir>/token`
 * (written by `switchyard up`), but that file only for the control plane
 * named in the same data dir's cluster.json, so the local admin token is
 * never sent anywhere else.
 */
export function resolveToken(flags: ClientFlags, tokenSource: string, address: string): { token: string; source: string } | undefined {
  if (flags.token) return { token: flags.token, source: tokenSource };
  let cluster;
  try {
    cluster = readClusterFile(flags.dataDir);
  } catch {
    return undefined; // resolveControlPlane reports a broken cluster.json when it matters
  }
  if (cluster?.controlPlane !== address) return undefined;
  const token = readLocalToken(flags.dataDir);
  return token === undefined ? undefined : { token, source: shownPath(tokenFilePath(flags.dataDir)) };
}

/**
 * TLS from --tls/--tls-ca/--tls-cert/--tls-key (or their variables);
 * undefined for plaintext. Files are read now, so a bad path is a usage
 * error naming the flag rather than a failed call.
 */
export function resolveClientTls(flags: Pick<ClientFlags, 'tls' | 'tlsCa' | 'tlsCert' | 'tlsKey'>, names = { ca: '--tls-ca', cert: '--tls-cert', key: '--tls-key' }): ClientTlsOptions | undefined {
  const { tlsCa, tlsCert, tlsKey } = flags;
  if (!flags.tls && !tlsCa && !tlsCert && !tlsKey) return undefined;
  if (tlsCert && !tlsKey) throw usageError(`${names.cert} needs ${names.key} (the certificate's private key)`);
  if (tlsKey && !tlsCert) throw usageError(`${names.key} needs ${names.cert} (the certificate it belongs to)`);
  const tls: ClientTlsOptions = {};
  for (const [flag, path, field] of [[names.ca, tlsCa, 'caFile'], [names.cert, tlsCert, 'certFile'], [names.key, tlsKey, 'keyFile']] as const) {
    if (!path) continue;
    try {
      readPemFile(flag, path);
    } catch (err) {
      throw usageError((err as { rawMessage?: string }).rawMessage ?? (err as Error).message);
    }
    tls[field] = path;
  }
  return tls;
}

/**
 * Resolves the connection settings of a client command from its parsed
 * flags (commander passes the command to every action).
 * @throws CliError (usage) for missing or malformed settings.
 */
export function resolveConnection(command: Command): ClientConnection {
  const flags = command.opts<ClientFlags>();
  const resolved = resolveControlPlane({
    ...(flags.controlPlane ? { controlPlane: flags.controlPlane } : {}),
    controlPlaneSource: sourceOf(command, 'controlPlane', '--control-plane'),
    dataDir: flags.dataDir,
  });
  const token = resolveToken(flags, sourceOf(command, 'token', '--token'), resolved.address);
  if (token) {
    try {
      bearerMetadata(token.token);
    } catch (err) {
      throw usageError(`the token from ${token.source} is malformed: ${(err as Error).message}`);
    }
  }
  const tls = resolveClientTls(flags);
  return { ...resolved, ...(token ? { token: token.token, tokenSource: token.source } : {}), ...(tls ? { tls } : {}) };
}

/** An AdminClient for a resolved connection. */
export function connectAdmin(connection: ClientConnection): AdminClient {
  return AdminClient.connect(connection.address, {
    source: connection.source,
    ...(connection.token !== undefined ? { token: connection.token, tokenSource: connection.tokenSource ?? '--token' } : {}),
    ...(connection.tls !== undefined ? { tls: connection.tls } : {}),
  });
}

/** Finds the control plane from the command's flags, connects, runs `fn` and always closes the connection. */
export async function withAdmin<T>(command: Command, fn: (admin: AdminClient) => Promise<T>): Promise<T> {
  const admin = connectAdmin(resolveConnection(command));
  try {
    return await fn(admin);
  } finally {
    admin.close();
  }
}
