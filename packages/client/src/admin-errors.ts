import type { ServiceError } from '@grpc/grpc-js';
import { GrpcStatus, SwitchyardError } from '@switchyard/core';
import { grpcReason } from './grpc-reason.js';

/** What {@link convertAdminError} needs to know to say what to do next. */
export interface AdminErrorContext {
  /** The control plane's host:port. */
  address: string;
  /** Where the address came from, e.g. "--control-plane" or ".switchyard/cluster.json". */
  source: string;
  /** Whether the channel uses TLS; the hint for a refused connection depends on it. */
  tls: boolean;
  /** Where the bearer token came from; undefined when none was sent. */
  tokenSource: string | undefined;
  /** The deadline the failed call had, for DEADLINE_EXCEEDED messages. */
  timeoutMs: number;
}

function isServiceError(err: unknown): err is ServiceError {
  return typeof err === 'object' && err !== null && typeof (err as ServiceError).code === 'number' && 'details' in err;
}

/**
 * Converts a failed admin call into a SwitchyardError, once, at the client's
 * boundary. Connection failures and missing credentials get a message that
 * says how to fix them; the control plane's own refusals (NOT_FOUND,
 * FAILED_PRECONDITION, ...) already do and pass through unchanged.
 */
export function convertAdminError(err: unknown, context: AdminErrorContext): SwitchyardError {
  if (!isServiceError(err)) return SwitchyardError.from(err);
  const where = `the control plane at ${context.address} (from ${context.source})`;
  // grpc-js's status enum and core's carry the same wire numbers.
  const code: GrpcStatus = err.code as number;
  switch (code) {
    case GrpcStatus.UNAVAILABLE: {
      // A TLS client talking to a plaintext server (or the reverse) fails the
      // same way as a server that is down, so both hints are given.
      const tlsHint = context.tls
        ? 'if it serves plaintext, leave out --tls-ca/--tls-cert/--tls-key'
        : 'if it serves TLS, pass its CA with --tls-ca (SWITCHYARD_TLS_CA)';
      return new SwitchyardError(
        code,
        `cannot reach ${where}: ${grpcReason(err)}. Start a local cluster with 'switchyard up', or point ` +
          `--control-plane / SWITCHYARD_CONTROL_PLANE at a running control plane; ${tlsHint}`,
        { cause: err },
      );
    }
    case GrpcStatus.DEADLINE_EXCEEDED:
      return new SwitchyardError(
        code,
        `no answer from ${where} within ${context.timeoutMs} ms; check that it is running and reachable (a firewall ` +
          `dropping packets looks like this), then retry`,
        { cause: err },
      );
    case GrpcStatus.UNAUTHENTICATED: {
      const details = err.details || err.message;
      if (context.tokenSource === undefined) return new SwitchyardError(code, details, { cause: err });
      return new SwitchyardError(
        code,
        `${details} (the token sent came from ${context.tokenSource}; check it is the one the control plane's tokens file lists)`,
        { cause: err },
      );
    }
    default:
      return SwitchyardError.from(err);
  }
}
