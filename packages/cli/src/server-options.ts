import type { Command } from 'commander';
import type { Etcd3 } from 'etcd3';
import { DEFAULT_PREFIX, KeyLayout, splitHostPort } from '@switchyard/core';
import { addEtcdOptions, etcdConnection, type EtcdFlags } from './etcd-options.js';
import { usageError } from './exit-codes.js';

/** Flags shared by `control-plane` and `node`. */
export interface ServerFlags extends EtcdFlags {
  etcd: string;
  listen: string;
  dataDir: string;
  prefix: string;
  advertise?: string;
  metricsListen?: string;
  /** Only `switchyard node` has it. */
  httpListen?: string;
  id?: string;
}

/** Adds the flags every server command takes, etcd TLS and auth included. */
export function addServerOptions(command: Command): Command {
  command
    .requiredOption('--etcd <endpoints>', 'etcd endpoints, comma-separated (e.g. http://10.0.0.1:2379,http://10.0.0.2:2379)')
    .requiredOption('--listen <host:port>', 'gRPC address to serve on (port 0: any free port)')
    .requiredOption('--data-dir <dir>', 'directory for artifacts')
    .option('--prefix <prefix>', 'etcd key prefix of this cluster', DEFAULT_PREFIX)
    .option('--advertise <host:port>', 'address other processes should dial, when it differs from --listen');
  return addEtcdOptions(command);
}

/**
 * Checks the flags and builds what both servers need; bad values are usage
 * errors naming the flag. etcd3 is loaded here, not at start, so client
 * commands never pay for it.
 */
export async function serverSetup(flags: ServerFlags): Promise<{ etcd: Etcd3; keys: KeyLayout }> {
  const connection = etcdConnection(flags.etcd, flags);
  for (const [flag, value] of [['--listen', flags.listen], ['--advertise', flags.advertise], ['--metrics-listen', flags.metricsListen], ['--http-listen', flags.httpListen]] as const) {
    if (value === undefined) continue;
    try {
      splitHostPort(value);
    } catch {
      throw usageError(`${flag} '${value}' is not host:port, e.g. 0.0.0.0:8001`);
    }
  }
  if (!flags.prefix.startsWith('/')) throw usageError(`--prefix '${flags.prefix}' must start with '/', e.g. /switchyard/`);
  const { createEtcdClient } = await import('@switchyard/core/etcd');
  return { etcd: createEtcdClient(connection), keys: new KeyLayout(flags.prefix) };
}
