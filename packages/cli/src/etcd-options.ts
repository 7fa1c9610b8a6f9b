import { Option, type Command } from 'commander';
import { type EtcdConnectionOptions } from '@switchyard/core';
import { parseEndpoints } from '@switchyard/core';
import { etcdTlsFromFiles } from '@switchyard/core';
import { usageError } from './exit-codes.js';

/** How a server (or `up --etcd`) authenticates to etcd and checks its certificate. */
export interface EtcdFlags {
  etcdCa?: string;
  etcdCert?: string;
  etcdKey?: string;
  etcdUser?: string;
  etcdPassword?: string;
}

/** Where the etcd password may come from instead of the command line. */
export const ETCD_PASSWORD_ENV = 'SWITCHYARD_ETCD_PASSWORD';

const ETCD_GROUP = 'etcd connection:';

/** Adds --etcd-ca/--etcd-cert/--etcd-key (client TLS) and --etcd-user/--etcd-password (etcd's own auth). */
export function addEtcdOptions(command: Command): Command {
  const option = (flags: string, description: string): Option => new Option(flags, description).helpGroup(ETCD_GROUP);
  return command
    .addOption(option('--etcd-ca <file>', "PEM CA bundle etcd's certificate must chain to (https:// endpoints)"))
    .addOption(option('--etcd-cert <file>', 'PEM client certificate for etcd (when etcd checks client certificates)'))
    .addOption(option('--etcd-key <file>', 'PEM private key of --etcd-cert'))
    .addOption(option('--etcd-user <name>', 'etcd user, when etcd has authentication enabled'))
    .addOption(option('--etcd-password <password>', `password of --etcd-user; prefer $${ETCD_PASSWORD_ENV}, flags show in ps`).env(ETCD_PASSWORD_ENV));
}

/**
 * etcd3 connection options from the endpoints and flags. TLS files are read
 * now, so a bad path is a usage error naming the flag; the password never
 * appears in a message.
 * @throws CliError (usage).
 */
export function etcdConnection(endpoints: string, flags: EtcdFlags): EtcdConnectionOptions {
  if (parseEndpoints(endpoints).length === 0) throw usageError('--etcd needs at least one endpoint, e.g. --etcd http://127.0.0.1:2379');
  if (flags.etcdCert && !flags.etcdKey) throw usageError('--etcd-cert needs --etcd-key (the certificate\'s private key)');
  if (flags.etcdKey && !flags.etcdCert) throw usageError('--etcd-key needs --etcd-cert (the certificate it belongs to)');
  const password = flags.etcdPassword || undefined;
  if (flags.etcdUser && password === undefined) throw usageError(`--etcd-user needs a password: set ${ETCD_PASSWORD_ENV} (or --etcd-password)`);
  if (password !== undefined && !flags.etcdUser) throw usageError(`an etcd password was given (--etcd-password or ${ETCD_PASSWORD_ENV}) without --etcd-user`);
  let tls: EtcdConnectionOptions['tls'];
  try {
    tls = etcdTlsFromFiles({
      ...(flags.etcdCa ? { caFile: flags.etcdCa } : {}),
      ...(flags.etcdCert ? { certFile: flags.etcdCert } : {}),
      ...(flags.etcdKey ? { keyFile: flags.etcdKey } : {}),
    });
  } catch (err) {
    const message = ((err as { rawMessage?: string }).rawMessage ?? (err as Error).message)
      .replace('etcd tls.caFile', '--etcd-ca')
      .replace('etcd tls.certFile', '--etcd-cert')
      .replace('etcd tls.keyFile', '--etcd-key');
    throw usageError(message);
  }
  return {
    endpoints,
    ...(tls ? { tls } : {}),
    ...(flags.etcdUser && password !== undefined ? { auth: { username: flags.etcdUser, password } } : {}),
  };
}

/** Whether any etcd TLS or auth flag was given. */
export function hasEtcdFlags(flags: EtcdFlags): boolean {
  return Boolean(flags.etcdCa || flags.etcdCert || flags.etcdKey || flags.etcdUser || flags.etcdPassword);
}
