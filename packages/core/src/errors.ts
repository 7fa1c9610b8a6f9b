import { status as GrpcStatus, Metadata, type ServiceError } from '@grpc/grpc-js';

export { GrpcStatus };

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
    if (isServiceError(err)) return new SwitchyardError(err.code, err.details || err.message, { cause: err });
    const message = err instanceof Error ? err.message : String(err);
    return new SwitchyardError(GrpcStatus.INTERNAL, message, { cause: err });
  }

  /** The shape grpc-js handlers pass to their callback. */
  toServiceError(): Partial<ServiceError> {
    return { code: this.code, details: this.rawMessage, message: this.rawMessage, metadata: new Metadata() };
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
