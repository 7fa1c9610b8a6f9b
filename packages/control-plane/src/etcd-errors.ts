import { ClientClosedError, GRPCDeadlineExceededError } from 'etcd3';
import { SwitchyardError, internal, resourceExhausted, unavailable } from '@switchyard/core';
import { isTransientEtcdError } from '@switchyard/core/etcd';

/**
 * Converts a failed etcd call into a SwitchyardError: UNAVAILABLE when etcd
 * could not be reached (the caller may retry), RESOURCE_EXHAUSTED when etcd
 * refused for size (the request, or its database at its quota), INTERNAL
 * otherwise.
 */
export function fromEtcdError(err: unknown): SwitchyardError {
  if (err instanceof SwitchyardError) return err;
  const message = err instanceof Error ? err.message : String(err);
  if (message.includes('database space exceeded')) {
    return resourceExhausted(
      "etcd's database reached its quota (NOSPACE alarm) and etcd refuses every write; compact, defragment and disarm the alarm (docs/operations.md, 'etcd quota and defragmentation')",
    );
  }
  // grpc-js says "Received message larger than max" of an answer too large for
  // this client (a read), "Sent message larger than max" of a request too
  // large to send; etcd says "request is too large" of one it refused.
  if (/Received message larger than max/.test(message)) {
    return resourceExhausted(`etcd's answer is larger than this client accepts (${message}); reads of growing prefixes must page`);
  }
  if (/larger than max|request is too large/.test(message)) return resourceExhausted(`the request is larger than etcd accepts (${message}); nothing was written`);
  const unreachable =
    err instanceof Error &&
    (isTransientEtcdError(err) ||
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
