import { GrpcStatus } from '@switchyard/core';

/** How an {@link InferenceClient} retries; every field has a default. */
export interface RetryOptions {
  /** Attempts per request, the first included (hedged attempts count too). @default 3 */
  maxAttempts?: number;
  /** Backoff before the first retry; doubles each retry, with full jitter. @default 25 */
  initialBackoffMs?: number;
  /** Largest backoff. @default 500 */
  maxBackoffMs?: number;
}

export interface ResolvedRetryPolicy {
  maxAttempts: number;
  initialBackoffMs: number;
  maxBackoffMs: number;
}

/** Fills defaults; throws TypeError naming the bad field. */
export function resolveRetryPolicy(options: RetryOptions = {}): ResolvedRetryPolicy {
  const policy = {
    maxAttempts: options.maxAttempts ?? 3,
    initialBackoffMs: options.initialBackoffMs ?? 25,
    maxBackoffMs: options.maxBackoffMs ?? 500,
  };
  if (!Number.isInteger(policy.maxAttempts) || policy.maxAttempts < 1) throw new TypeError(`retry.maxAttempts must be an integer ≥ 1, got ${options.maxAttempts}`);
  if (!(policy.initialBackoffMs >= 0)) throw new TypeError(`retry.initialBackoffMs must be ≥ 0, got ${options.initialBackoffMs}`);
  if (!(policy.maxBackoffMs >= policy.initialBackoffMs)) throw new TypeError(`retry.maxBackoffMs must be ≥ initialBackoffMs, got ${options.maxBackoffMs}`);
  return policy;
}

/**
 * Whether a failed attempt may be sent again to another node. UNAVAILABLE
 * means the call never ran or its node went away (connection refused or
 * reset, a GOAWAY from a node shutting down); CANCELLED is retried only when
 * it came from a node known to be draining (its health turned NOT_SERVING),
 * which is how a GOAWAY'd in-flight stream can end. Never retried:
 * INVALID_ARGUMENT, NOT_FOUND, DEADLINE_EXCEEDED and everything else; the
 * same request would fail the same way, or the time is up.
 */
export function isRetryable(code: GrpcStatus, endpointDraining: boolean): boolean {
  if (code === GrpcStatus.UNAVAILABLE) return true;
  return code === GrpcStatus.CANCELLED && endpointDraining;
}

/** Exponential backoff with full jitter before retry number `retry` (1-based). */
export function backoffMs(policy: ResolvedRetryPolicy, retry: number): number {
  const ceiling = Math.min(policy.maxBackoffMs, policy.initialBackoffMs * 2 ** (retry - 1));
  return Math.random() * ceiling;
}
