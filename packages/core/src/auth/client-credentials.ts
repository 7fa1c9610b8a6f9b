import * as grpc from '@grpc/grpc-js';
import { channelCredentials } from '../tls.js';
import type { ClientTlsOptions } from '../tls-files.js';

/** The environment variable clients read their bearer token from. */
export const TOKEN_ENV = 'SWITCHYARD_TOKEN';

function checkToken(token: string): void {
  // Never echo the token: this message may end up in a log.
  if (typeof token !== 'string' || !/^[\x21-\x7e]+$/.test(token)) {
    throw new TypeError('token must be a non-empty string of printable ASCII without spaces (as generated: sy_...)');
  }
}

/** Sets `authorization: Bearer <token>` on `metadata` (a new one by default). */
export function bearerMetadata(token: string, metadata = new grpc.Metadata()): grpc.Metadata {
  checkToken(token);
  metadata.set('authorization', `Bearer ${token}`);
  return metadata;
}

/**
 * Call credentials that send the token on every call. grpc-js refuses to
 * compose them with insecure channel credentials; use
 * {@link clientCredentials}, which picks an interceptor for plaintext channels.
 */
export function callCredentialsForToken(token: string): grpc.CallCredentials {
  checkToken(token);
  return grpc.credentials.createFromMetadataGenerator((_params, callback) => callback(null, bearerMetadata(token)));
}

/**
 * A client interceptor adding the bearer header to every call; works on any
 * channel, plaintext included.
 */
export function bearerInterceptor(token: string): grpc.Interceptor {
  checkToken(token);
  return (options, nextCall) =>
    new grpc.InterceptingCall(nextCall(options), {
      start(metadata, listener, next) {
        next(bearerMetadata(token, metadata), listener);
      },
    });
}

/** Options for {@link clientCredentials}. */
export interface ClientCredentialsOptions {
  /** Bearer token sent on every call; omit for servers with auth off. */
  token?: string;
  /** TLS; omit for plaintext. */
  tls?: ClientTlsOptions;
}

/** What a grpc-js client constructor needs: `new Ctor(address, credentials, options)`. */
export interface ClientCredentials {
  credentials: grpc.ChannelCredentials;
  /** Spread into the client's options; holds the token interceptor on plaintext channels. */
  options: grpc.ClientOptions;
}

/**
 * Channel credentials and client options carrying TLS and a bearer token.
 * Over TLS the token travels as call credentials (the gRPC convention);
 * over plaintext, where grpc-js will not compose call credentials, it is
 * added by an interceptor instead, so the same code works against a
 * development server.
 * @throws TypeError for a malformed token or incomplete TLS options.
 */
export function clientCredentials(options: ClientCredentialsOptions = {}): ClientCredentials {
  const channel = channelCredentials(options.tls);
  if (options.token === undefined) return { credentials: channel, options: {} };
  if (options.tls !== undefined) {
    return { credentials: grpc.credentials.combineChannelCredentials(channel, callCredentialsForToken(options.token)), options: {} };
  }
  return { credentials: channel, options: { interceptors: [bearerInterceptor(options.token)] } };
}
