import type { ServiceError } from '@grpc/grpc-js';

/**
 * gRPC status codes, by the numbers the gRPC specification fixes. Declared
 * here rather than re-exported from grpc-js so that the error type, part of
 * core's light root entry, loads no gRPC code; the numbers are the wire
 * values and equal grpc-js's `status` member for member.
 */
export enum GrpcStatus {
  OK = 0,
  CANCELLED = 1,
  UNKNOWN = 2,
  INVALID_ARGUMENT = 3,
  DEADLINE_EXCEEDED = 4,
  NOT_FOUND = 5,
  ALREADY_EXISTS = 6,
  PERMISSION_DENIED = 7,
  RESOURCE_EXHAUSTED = 8,
  FAILED_PRECONDITION = 9,
  ABORTED = 10,
  OUT_OF_RANGE = 11,
  UNIMPLEMENTED = 12,
  INTERNAL = 13,
  UNAVAILABLE = 14,
  DATA_LOSS = 15,
  UNAUTHENTICATED = 16,
}

/** Options for {@link SwitchyardError}. */
export interface SwitchyardErrorOptions {
  /** The error that caused this one, kept for logs. */
  cause?: unknown;
}

/**
 * The one error type of the project. It carries a gRPC status code, so every
 * boundary (gRPC handler, CLI) can report it without guessing, and a message
 * written for the person who has to act on it.
 */
export class SwitchyardError extends Error {
  readonly code: GrpcStatus;
  readonly rawMessage: string;

  constructor(code: GrpcStatus, message: string, options: SwitchyardErrorOptions = {}) {
    super(`${GrpcStatus[code]}: ${message}`, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'SwitchyardError';
    this.code = code;
    this.rawMessage = message;
  }

  /** Converts anything thrown into a SwitchyardError; unknown errors become INTERNAL. */
  static from(err: unknown): SwitchyardError {
    if (err instanceof SwitchyardError) return err;
    if (isServiceError(err)) return new SwitchyardError(err.code as number as GrpcStatus, err.details || err.message, { cause: err });
    const message = err instanceof Error ? err.message : String(err);
    return new SwitchyardError(GrpcStatus.INTERNAL, message, { cause: err });
  }

  /**
   * The shape grpc-js handlers pass to their callback. No trailing metadata:
   * grpc-js sends an error's status with empty trailers when it has none.
   */
  toServiceError(): Partial<ServiceError> {
    return { code: this.code as number, details: this.rawMessage, message: this.rawMessage };
  }
}

function isServiceError(err: unknown): err is ServiceError {
  return typeof err === 'object' && err !== null && typeof (err as ServiceError).code === 'number' && 'details' in err;
}

export const notFound = (message: string): SwitchyardError => new SwitchyardError(GrpcStatus.NOT_FOUND, message);
export const invalidArgument = (message: string): SwitchyardError => new SwitchyardError(GrpcStatus.INVALID_ARGUMENT, message);
export const failedPrecondition = (message: string): SwitchyardError =>
  new SwitchyardError(GrpcStatus.FAILED_PRECONDITION, message);
export const unavailable = (message: string, cause?: unknown): SwitchyardError =>
  new SwitchyardError(GrpcStatus.UNAVAILABLE, message, { cause });
export const aborted = (message: string): SwitchyardError => new SwitchyardError(GrpcStatus.ABORTED, message);
export const alreadyExists = (message: string): SwitchyardError => new SwitchyardError(GrpcStatus.ALREADY_EXISTS, message);
export const resourceExhausted = (message: string): SwitchyardError =>
  new SwitchyardError(GrpcStatus.RESOURCE_EXHAUSTED, message);
export const internal = (message: string, cause?: unknown): SwitchyardError =>
  new SwitchyardError(GrpcStatus.INTERNAL, message, { cause });
export const unimplemented = (message: string): SwitchyardError => new SwitchyardError(GrpcStatus.UNIMPLEMENTED, message);
