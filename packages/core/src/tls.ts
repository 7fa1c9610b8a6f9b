import { readFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import type { EtcdConnectionOptions } from './etcd-client.js';
import { invalidArgument } from './errors.js';

/**
 * TLS for a gRPC server. Plaintext unless `certFile` is set; with
 * `clientCaFile`, clients must also present a certificate signed by that CA
 * (mutual TLS).
 */
export interface ServerTlsOptions {
  /** PEM certificate chain of the server. */
  certFile?: string;
  /** PEM private key of `certFile`; required with it. */
  keyFile?: string;
  /** PEM CA bundle client certificates must chain to; turns on mutual TLS. */
  clientCaFile?: string;
}

/**
 * TLS for a gRPC client. `undefined` means plaintext; an object, even an
 * empty one, means TLS (verified against the system's roots unless `caFile`).
 */
export interface ClientTlsOptions {
  /** PEM CA bundle the server's certificate must chain to. @default the system's roots */
  caFile?: string;
  /** PEM client certificate, for servers that require one (mutual TLS). */
  certFile?: string;
  /** PEM private key of `certFile`; required with it. */
  keyFile?: string;
}

/**
 * Reads a PEM file named by option `field`.
 * @throws SwitchyardError INVALID_ARGUMENT naming the field and the file.
 */
export function readPemFile(field: string, path: string): Buffer {
  let pem: Buffer;
  try {
    pem = readFileSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    throw invalidArgument(`${field}: cannot read ${path} (${code}); check the path and its permissions`);
  }
  if (!pem.includes('-----BEGIN ')) throw invalidArgument(`${field}: ${path} is not a PEM file (no "-----BEGIN" line)`);
  return pem;
}

function checkPair(prefix: string, certFile: string | undefined, keyFile: string | undefined): void {
  if (certFile !== undefined && keyFile === undefined) throw new TypeError(`${prefix}keyFile is required with ${prefix}certFile`);
  if (keyFile !== undefined && certFile === undefined) throw new TypeError(`${prefix}certFile is required with ${prefix}keyFile`);
}

/**
 * Server credentials for `server.bindAsync`: insecure without `certFile`,
 * TLS with it, mutual TLS with `clientCaFile` too.
 * @throws TypeError for a cert without a key (or the reverse) or a client CA without a cert;
 *   SwitchyardError INVALID_ARGUMENT for unreadable files.
 */
export function serverCredentials(options: ServerTlsOptions = {}): grpc.ServerCredentials {
  checkPair('tls.', options.certFile, options.keyFile);
  if (options.certFile === undefined || options.keyFile === undefined) {
    if (options.clientCaFile !== undefined) throw new TypeError('tls.clientCaFile needs tls.certFile and tls.keyFile: client certificates are only checked over TLS');
    return grpc.ServerCredentials.createInsecure();
  }
  const pair = { cert_chain: readPemFile('tls.certFile', options.certFile), private_key: readPemFile('tls.keyFile', options.keyFile) };
  const clientCa = options.clientCaFile === undefined ? null : readPemFile('tls.clientCaFile', options.clientCaFile);
  return grpc.ServerCredentials.createSsl(clientCa, [pair], clientCa !== null);
}

/** Whether `serverCredentials(options)` serves TLS, and whether it asks for client certificates. */
export function describeServerTls(options: ServerTlsOptions | undefined): 'off' | 'tls' | 'mutual-tls' {
  if (options?.certFile === undefined) return 'off';
  return options.clientCaFile === undefined ? 'tls' : 'mutual-tls';
}

/**
 * Channel credentials for a client: insecure when `options` is undefined,
 * TLS otherwise.
 * @throws TypeError for a cert without a key or the reverse; SwitchyardError INVALID_ARGUMENT for unreadable files.
 */
export function channelCredentials(options?: ClientTlsOptions): grpc.ChannelCredentials {
  if (options === undefined) return grpc.credentials.createInsecure();
  checkPair('tls.', options.certFile, options.keyFile);
  return grpc.credentials.createSsl(
    options.caFile === undefined ? null : readPemFile('tls.caFile', options.caFile),
    options.keyFile === undefined ? null : readPemFile('tls.keyFile', options.keyFile),
    options.certFile === undefined ? null : readPemFile('tls.certFile', options.certFile),
  );
}

/**
 * etcd client TLS from PEM files, for {@link EtcdConnectionOptions.tls};
 * undefined when no file is given (plaintext, or https:// endpoints with the
 * system's roots).
 * @throws TypeError for a cert without a key or the reverse; SwitchyardError INVALID_ARGUMENT for unreadable files.
 */
export function etcdTlsFromFiles(options: ClientTlsOptions): EtcdConnectionOptions['tls'] {
  checkPair('etcd tls.', options.certFile, options.keyFile);
  if (options.caFile === undefined && options.certFile === undefined) return undefined;
  return {
    ...(options.caFile !== undefined ? { rootCertificate: readPemFile('etcd tls.caFile', options.caFile) } : {}),
    ...(options.certFile !== undefined ? { certChain: readPemFile('etcd tls.certFile', options.certFile) } : {}),
    ...(options.keyFile !== undefined ? { privateKey: readPemFile('etcd tls.keyFile', options.keyFile) } : {}),
  };
}
