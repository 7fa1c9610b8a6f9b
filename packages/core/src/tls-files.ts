import { readFileSync } from 'node:fs';
import type { EtcdConnectionOptions } from './etcd-connection.js';
import { invalidArgument } from './errors.js';

// TLS options and PEM files, apart from tls.ts's grpc-js credentials so that
// flag parsing and etcd options need no gRPC code.

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

/** Refuses a certificate without its key, or the reverse. */
export function checkTlsPair(prefix: string, certFile: string | undefined, keyFile: string | undefined): void {
  if (certFile !== undefined && keyFile === undefined) throw new TypeError(`${prefix}keyFile is required with ${prefix}certFile`);
  if (keyFile !== undefined && certFile === undefined) throw new TypeError(`${prefix}certFile is required with ${prefix}keyFile`);
}

/**
 * etcd client TLS from PEM files, for {@link EtcdConnectionOptions.tls};
 * undefined when no file is given (plaintext, or https:// endpoints with the
 * system's roots).
 * @throws TypeError for a cert without a key or the reverse; SwitchyardError INVALID_ARGUMENT for unreadable files.
 */
export function etcdTlsFromFiles(options: ClientTlsOptions): EtcdConnectionOptions['tls'] {
  checkTlsPair('etcd tls.', options.certFile, options.keyFile);
  if (options.caFile === undefined && options.certFile === undefined) return undefined;
  return {
    ...(options.caFile !== undefined ? { rootCertificate: readPemFile('etcd tls.caFile', options.caFile) } : {}),
    ...(options.certFile !== undefined ? { certChain: readPemFile('etcd tls.certFile', options.certFile) } : {}),
    ...(options.keyFile !== undefined ? { privateKey: readPemFile('etcd tls.keyFile', options.keyFile) } : {}),
  };
}
