import type { sendUnaryData, ServerUnaryCall } from '@grpc/grpc-js';
import { GrpcStatus, SwitchyardError, type Logger } from '@switchyard/core';

/** Codes that mean the server, not the caller, has a problem; those are logged loudly. */
const SERVER_FAULTS = new Set<GrpcStatus>([GrpcStatus.INTERNAL, GrpcStatus.UNKNOWN, GrpcStatus.DATA_LOSS, GrpcStatus.UNAVAILABLE]);

/**
 * Converts anything a handler threw into a SwitchyardError and logs it:
 * server faults as errors, the caller's mistakes at debug level only.
 */
export function toReportedError(logger: Logger, method: string, err: unknown): SwitchyardError {
  const error = SwitchyardError.from(err);
  if (SERVER_FAULTS.has(error.code)) {
    const cause = error.cause instanceof Error ? error.cause.stack : undefined;
    logger.error(`${method} failed`, { method, code: GrpcStatus[error.code], error: error.rawMessage, cause });
  } else {
    logger.debug(`${method} refused`, { method, code: GrpcStatus[error.code], error: error.rawMessage });
  }
  return error;
}

/**
 * A grpc-js unary handler around an async function of the request; whatever
 * it throws reaches the client as a status with a code and a useful message.
 */
export function unaryHandler<Req, Res>(
  logger: Logger,
  method: string,
  handle: (request: Req, call: ServerUnaryCall<Req, Res>) => Promise<Res>,
): (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>) => void {
  return (call, callback) => {
    handle(call.request, call).then(
      (response) => callback(null, response),
      (err: unknown) => callback(toReportedError(logger, method, err).toServiceError()),
    );
  };
}
