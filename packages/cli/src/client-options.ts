import { Option, type Command } from 'commander';
import { TOKEN_ENV } from '@switchyard/core/grpc';
import { DEFAULT_DATA_DIR } from './cluster-file.js';
import type { OutputFormat } from './output-format.js';

/** The flags every client command shares, as commander parses them. */
export interface ClientFlags {
  controlPlane?: string;
  dataDir: string;
  token?: string;
  tls?: boolean;
  tlsCa?: string;
  tlsCert?: string;
  tlsKey?: string;
  output: OutputFormat;
}

/** Environment variables of the client flags; commander reads them when the flag is not given. */
export const CLIENT_ENV = {
  controlPlane: 'SWITCHYARD_CONTROL_PLANE',
  token: TOKEN_ENV,
  tlsCa: 'SWITCHYARD_TLS_CA',
  tlsCert: 'SWITCHYARD_TLS_CERT',
  tlsKey: 'SWITCHYARD_TLS_KEY',
} as const;

const CONNECTION_GROUP = 'Control plane connection:';

/**
 * Adds the connection flags (--control-plane, --data-dir, --token, TLS) and
 * -o/--output to a client command.
 */
export function addClientOptions(command: Command): Command {
  const option = (flags: string, description: string): Option => new Option(flags, description).helpGroup(CONNECTION_GROUP);
  return command
    // First, so the command's own options join it under "Options:" ahead of the connection group.
    .addOption(new Option('-o, --output <format>', 'table for people, json for scripts (one JSON document on stdout)').choices(['table', 'json']).default('table'))
    .addOption(
      option('--control-plane <host:port>', 'control plane admin address (else <data-dir>/cluster.json)').env(CLIENT_ENV.controlPlane),
    )
    .addOption(option('--data-dir <dir>', "where 'switchyard up' wrote cluster.json and token").default(DEFAULT_DATA_DIR))
    .addOption(
      option('--token <token>', "bearer token (else <data-dir>/token for the cluster 'switchyard up' runs there); prefer the variable, flags show in ps").env(
        CLIENT_ENV.token,
      ),
    )
    .addOption(option('--tls', "use TLS, verifying the server against the system's roots (implied by --tls-ca/--tls-cert)"))
    .addOption(option('--tls-ca <file>', "PEM CA bundle the control plane's certificate must chain to; turns on TLS").env(CLIENT_ENV.tlsCa))
    .addOption(option('--tls-cert <file>', 'PEM client certificate, for a control plane that requires one (mutual TLS)').env(CLIENT_ENV.tlsCert))
    .addOption(option('--tls-key <file>', 'PEM private key of --tls-cert').env(CLIENT_ENV.tlsKey));
}
