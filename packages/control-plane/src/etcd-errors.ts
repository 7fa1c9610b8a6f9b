import { ClientClosedError, GRPCDeadlineExceededError, isRecoverableError } from 'etcd3';
import { SwitchyardError, internal, unavailable } from '@switchyard/core';

/**
 * Converts a failed etcd call into a SwitchyardError: UNAVAILABLE when etcd
 * could not be reached (the caller may retry), INTERNAL otherwise.
 */
export function fromEtcdError(err: unknown): SwitchyardError {
  if (err instanceof SwitchyardError) return err;
  const message = err instanceof Error ? err.message : String(err);
  const unreachable =
    err instanceof Error &&
    (isRecoverableError(err) ||
      err instanceof GRPCDeadlineExceededError ||
      err instanceof ClientClosedError ||
      // cockatiel's open circuit: etcd failed several times just now.
      (err as { isBrokenCircuitError?: boolean }).isBrokenCircuitError === true);
  if (unreachable) {
    return unavailable(`etcd is unreachable (${message}); check that etcd is running and the control plane's etcd endpoints, then retry`, err);
  }
  return internal(`etcd request failed: ${message}`, err);
}

/** Runs an etcd call, converting its failure with {@link fromEtcdError}. */
export async function etcdCall<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    throw fromEtcdError(err);
  }
}
