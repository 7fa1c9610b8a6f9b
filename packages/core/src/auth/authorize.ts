import type { Metadata, UntypedHandleCall, UntypedServiceImplementation } from '@grpc/grpc-js';
import { ANONYMOUS, roleAllows, setCaller, type CallerIdentity } from '../caller.js';
import { GrpcStatus, SwitchyardError } from '../errors.js';
import type { Logger } from '../logger.js';
import { requiredRole } from './method-roles.js';
import type { TokenStore } from './token-store.js';

/** Options for {@link withAuth}. */
export interface AuthOptions {
  /** The accepted tokens; null turns auth off (every call runs as {@link ANONYMOUS}). */
  store: TokenStore | null;
  /** Refused calls are logged here, by token name and method, never by token. */
  logger: Logger;
}

/** What every grpc-js server call object has, whatever its kind. */
interface ServerCall {
  metadata: Metadata;
  emit(event: 'error', error: unknown): boolean;
}

const UNAUTHENTICATED_MESSAGE = 'missing or unknown token; pass one with --token or SWITCHYARD_TOKEN';

/**
 * The token of an `authorization: Bearer <token>` header, or undefined when
 * there is none or it has another scheme.
 */
export function bearerToken(metadata: Metadata): string | undefined {
  const value = metadata.get('authorization')[0];
  if (typeof value !== 'string') return undefined;
  const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(value);
  return match?.[1];
}

/**
 * Who may make this call: the caller's identity, or a SwitchyardError
 * (UNAUTHENTICATED or PERMISSION_DENIED). Depends on the metadata and the
 * method only, never on the request, so the answer cannot reveal whether
 * the model or version named in the request exists.
 */
export function authorizeCall(store: TokenStore, metadata: Metadata, service: string, method: string): CallerIdentity | SwitchyardError {
  const access = requiredRole(service, method);
  if (access === 'open') return ANONYMOUS;
  const identity = store.authenticate(bearerToken(metadata));
  if (!identity) return new SwitchyardError(GrpcStatus.UNAUTHENTICATED, UNAUTHENTICATED_MESSAGE);
  if (!roleAllows(identity.role, access)) {
    return new SwitchyardError(
      GrpcStatus.PERMISSION_DENIED,
      `token '${identity.name}' has role ${identity.role}; ${method} needs ${access} (ask an admin for a token with that role)`,
    );
  }
  return identity;
}

/** Fails a call before its handler ran: through the callback (unary, client streaming) or the stream. */
function refuse(call: ServerCall, callback: unknown, error: SwitchyardError): void {
  if (typeof callback === 'function') {
    // Client streaming: answering now without reading leaves the request
    // stream unread; grpc-js discards it once the status is sent.
    (callback as (err: unknown) => void)(error.toServiceError());
  } else {
    // Server and bidi streams turn an 'error' event into the call's status.
    call.emit('error', error.toServiceError());
  }
}

/**
 * Wraps every handler of a grpc-js service implementation so that it runs
 * only for callers whose bearer token has the role the method needs (see
 * {@link requiredRole}); the identity is attached with setCaller() for the
 * handler to read. Refused calls never reach the handler, so no lookup
 * happens before the check. Works for unary, client-, server- and bidi-
 * streaming handlers: grpc-js passes a callback to the first two only.
 * @param serviceName the full proto name, e.g. "switchyard.admin.v1.ModelAdmin".
 * @throws TypeError when `options.store` or `options.logger` is missing.
 */
export function withAuth(serviceName: string, handlers: UntypedServiceImplementation, options: AuthOptions): UntypedServiceImplementation {
  if (options.store === undefined) throw new TypeError('store is required: a TokenStore, or null to turn auth off');
  if (!options.logger) throw new TypeError('logger is required');
  const { store, logger } = options;
  const wrapped: UntypedServiceImplementation = {};
  for (const [method, handler] of Object.entries(handlers)) {
    const run = handler as unknown as (this: unknown, call: ServerCall, callback?: unknown) => void;
    wrapped[method] = function guarded(this: unknown, call: ServerCall, callback?: unknown): void {
      if (store === null) {
        setCaller(call, ANONYMOUS);
        run.call(this, call, callback);
        return;
      }
      const outcome = authorizeCall(store, call.metadata, serviceName, method);
      if (outcome instanceof SwitchyardError) {
        // Unknown tokens are mostly noise (scanners, expired scripts); a known
        // token reaching too far is worth a warning.
        const level = outcome.code === GrpcStatus.PERMISSION_DENIED ? 'warn' : 'debug';
        logger.log(level, 'call refused', { method: `${serviceName}/${method}`, code: GrpcStatus[outcome.code], error: outcome.rawMessage });
        refuse(call, callback, outcome);
        return;
      }
      setCaller(call, outcome);
      run.call(this, call, callback);
    } as unknown as UntypedHandleCall;
  }
  return wrapped;
}
