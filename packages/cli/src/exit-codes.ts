import { CommanderError } from 'commander';
import { GrpcStatus, SwitchyardError } from '@switchyard/core';

/**
 * The CLI's exit codes. Scripts branch on them, so they are part of the
 * interface: docs/cli.md lists them and they never change meaning.
 */
export const ExitCode = {
  OK: 0,
  /** The control plane or a node refused or failed the operation (FAILED load, NOT_FOUND, bad input...). */
  FAILED: 1,
  /** Bad flags, a missing file, no control plane configured: fix the command line or setup. */
  USAGE: 2,
  /** The control plane (or node) could not be reached. */
  UNREACHABLE: 3,
  /** Gave up waiting (deploy --timeout). */
  TIMEOUT: 4,
  /** The control plane refused the credentials: no or unknown token (UNAUTHENTICATED), or a role too weak (PERMISSION_DENIED). */
  DENIED: 5,
  /** A conditional change lost a race (ABORTED, e.g. a stale --expected-revision): re-read and retry. */
  CONFLICT: 6,
  /**
   * `switchyard validate`: a version could not be checked at all (its artifact
   * or samples could not be fetched, or this build could not load it), and none
   * failed. Kept apart from FAILED so a pipeline can tell "the build changes
   * answers" from "the check itself did not run".
   */
  VALIDATION_ERROR: 7,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** An error raised by the CLI itself, carrying the exit code it should end with. */
export class CliError extends Error {
  constructor(
    readonly exitCode: ExitCode,
    message: string,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

export const usageError = (message: string): CliError => new CliError(ExitCode.USAGE, message);
export const timeoutError = (message: string): CliError => new CliError(ExitCode.TIMEOUT, message);
export const failedError = (message: string): CliError => new CliError(ExitCode.FAILED, message);

/** What the user sees and the code the process ends with, for anything thrown. */
export function describeFailure(err: unknown): { message: string; exitCode: ExitCode } {
  if (err instanceof CliError) return { message: err.message, exitCode: err.exitCode };
  if (err instanceof CommanderError) {
    // Commander has already printed its message: help or version asked for, or a usage error.
    const asked = err.code === 'commander.helpDisplayed' || err.code === 'commander.version';
    return { message: '', exitCode: asked ? ExitCode.OK : ExitCode.USAGE };
  }
  const error = SwitchyardError.from(err);
  return { message: error.message, exitCode: exitCodeOf(error.code) };
}

/** The exit code for a gRPC status the control plane (or a node) answered with. */
export function exitCodeOf(code: GrpcStatus): ExitCode {
  switch (code) {
    case GrpcStatus.UNAVAILABLE:
    case GrpcStatus.DEADLINE_EXCEEDED:
      return ExitCode.UNREACHABLE;
    case GrpcStatus.UNAUTHENTICATED:
    case GrpcStatus.PERMISSION_DENIED:
      return ExitCode.DENIED;
    case GrpcStatus.ABORTED:
      return ExitCode.CONFLICT;
    default:
      return ExitCode.FAILED;
  }
}
