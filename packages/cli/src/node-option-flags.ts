import type { PredictionNodeOptions } from '@switchyard/prediction-node';
import { usageError } from './exit-codes.js';

/** The `switchyard node` flag that sets each PredictionNodeOptions field a refusal can name. */
export const NODE_OPTION_FLAGS: Readonly<Record<string, string>> = {
  id: '--id',
  listen: '--listen',
  advertise: '--advertise',
  metricsListen: '--metrics-listen',
  httpListen: '--http-listen',
  dataDir: '--data-dir',
  drainGraceMs: '--drain-grace',
  usageIntervalMs: '--usage-interval',
  shutdownDeadlineMs: '--shutdown-deadline',
  leaseTtlSeconds: '--lease-ttl',
  inlineRunLimitMs: '--inline-run-limit',
  runTimeoutMs: '--run-timeout',
  loadTimeoutMs: '--load-timeout',
  runMemoryLimitBytes: '--run-memory-limit',
  maxInFlightBytes: '--max-in-flight-bytes',
  memoryBudgetBytes: '--memory-budget',
  maxConnections: '--max-connections',
  connectionIdleMs: '--connection-idle',
  keepaliveTimeMs: '--keepalive-time',
  keepaliveTimeoutMs: '--keepalive-timeout',
  maxConcurrentStreams: '--max-concurrent-streams',
  artifactCacheGraceMs: '--artifact-cache-grace',
  controlPlaneToken: '--control-plane-token',
  'tls.certFile': '--tls-cert',
  'tls.keyFile': '--tls-key',
  'tls.clientCaFile': '--tls-client-ca',
  peerTls: '--peer-tls-ca',
  'shadow.queueSize': '--shadow-queue-size',
  'shadow.concurrency': '--shadow-concurrency',
  'shadow.timeoutMs': '--shadow-timeout',
  'shadow.maxWaitMs': '--shadow-max-wait',
  'shadow.busyThreshold': '--shadow-busy-threshold',
};

/**
 * Runs the node's own option checks (resolvePredictionNodeOptions) before
 * anything starts, so the flags are checked by the same rules as any other
 * caller's options, and a refused value is a usage error (exit 2) naming the
 * flag that set it. The flags' syntax (a duration, a whole number) is the
 * CLI's to check; the ranges are the node's.
 */
export async function checkNodeOptions(options: PredictionNodeOptions): Promise<void> {
  const { resolvePredictionNodeOptions, PredictionNodeOptionError } = await import('@switchyard/prediction-node');
  try {
    resolvePredictionNodeOptions(options);
  } catch (err) {
    if (err instanceof PredictionNodeOptionError) throw usageError(`${NODE_OPTION_FLAGS[err.field] ?? err.field} ${err.reason}`);
    throw err;
  }
}
