import * as grpc from '@grpc/grpc-js';
import { checkTlsPair, readPemFile, type ClientTlsOptions, type ServerTlsOptions } from './tls-files.js';

/**
 * Server credentials for `server.bindAsync`: insecure without `certFile`,
 * TLS with it, mutual TLS with `clientCaFile` too.
 * @throws TypeError for a cert without a key (or the reverse) or a client CA without a cert;
 *   SwitchyardError INVALID_ARGUMENT for unreadable files.
 */
export function serverCredentials(options: ServerTlsOptions = {}): grpc.ServerCredentials {
  checkTlsPair('tls.', options.certFile, options.keyFile);
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
  checkTlsPair('tls.', options.certFile, options.keyFile);
  return grpc.credentials.createSsl(
    options.caFile === undefined ? null : readPemFile('tls.caFile', options.caFile),
    options.keyFile === undefined ? null : readPemFile('tls.keyFile', options.keyFile),
    options.certFile === undefined ? null : readPemFile('tls.certFile', options.certFile),
  );
}
