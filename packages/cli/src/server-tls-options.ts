import { Option, type Command } from 'commander';
import { type ServerTlsOptions } from '@switchyard/core';
import { readPemFile } from '@switchyard/core';
import { usageError } from './exit-codes.js';

/** TLS flags of a gRPC server (control plane admin API, node inference API). */
export interface ServerTlsFlags {
  tlsCert?: string;
  tlsKey?: string;
  tlsClientCa?: string;
}

const TLS_GROUP = 'TLS:';

/** Adds --tls-cert, --tls-key and --tls-client-ca. */
export function addServerTlsOptions(command: Command, what: string): Command {
  const option = (flags: string, description: string): Option => new Option(flags, description).helpGroup(TLS_GROUP);
  return command
    .addOption(option('--tls-cert <file>', `PEM certificate chain: serve the ${what} over TLS`))
    .addOption(option('--tls-key <file>', 'PEM private key of --tls-cert'))
    .addOption(option('--tls-client-ca <file>', 'PEM CA bundle: also require client certificates signed by it (mutual TLS)'));
}

/**
 * Server TLS from the flags; undefined for plaintext. Files are read now, so
 * a bad path fails start-up as a usage error naming the flag.
 * @throws CliError (usage).
 */
export function serverTls(flags: ServerTlsFlags): ServerTlsOptions | undefined {
  if (!flags.tlsCert && !flags.tlsKey && !flags.tlsClientCa) return undefined;
  if (!flags.tlsCert || !flags.tlsKey) {
    throw usageError(flags.tlsClientCa && !flags.tlsCert && !flags.tlsKey
      ? '--tls-client-ca needs --tls-cert and --tls-key: client certificates are only checked over TLS'
      : '--tls-cert and --tls-key go together: give the certificate and its private key');
  }
  for (const [flag, path] of [['--tls-cert', flags.tlsCert], ['--tls-key', flags.tlsKey], ['--tls-client-ca', flags.tlsClientCa]] as const) {
    if (!path) continue;
    try {
      readPemFile(flag, path);
    } catch (err) {
      throw usageError((err as { rawMessage?: string }).rawMessage ?? (err as Error).message);
    }
  }
  return { certFile: flags.tlsCert, keyFile: flags.tlsKey, ...(flags.tlsClientCa ? { clientCaFile: flags.tlsClientCa } : {}) };
}
