import { setTimeout as sleep } from 'node:timers/promises';

/** Options for {@link waitFor}. */
export interface WaitForOptions {
  /** Give up after this many milliseconds (default 10000). */
  timeoutMs?: number;
  /** Pause between two checks (default 25). */
  intervalMs?: number;
  /** What was being waited for; it goes into the timeout error. */
  message?: string;
  /** Stops waiting at once, rejecting with the signal's reason (e.g. the awaited process died). */
  signal?: AbortSignal;
}

/**
 * Polls `predicate` until it returns true.
 *
 * A predicate that throws counts as "not yet", because the typical use is
 * probing a server that is still starting; the last error is kept as the
 * timeout error's `cause` so a real bug is still visible.
 *
 * @throws Error naming `message` when `timeoutMs` passes first, or the
 *   signal's reason when `signal` aborts.
 */
export async function waitFor(
  predicate: () => boolean | Promise<boolean>,
  { timeoutMs = 10_000, intervalMs = 25, message = 'condition', signal }: WaitForOptions = {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    signal?.throwIfAborted();
    try {
      if (await predicate()) return;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() >= deadline) {
      throw new Error(`waitFor: timed out after ${timeoutMs} ms waiting for ${message}`, {
        cause: lastError,
      });
    }
    try {
      await sleep(intervalMs, undefined, { signal });
    } catch (error) {
      // sleep() wraps the reason in a generic AbortError; callers want the reason.
      if (signal?.aborted) throw signal.reason;
      throw error;
    }
  }
}
