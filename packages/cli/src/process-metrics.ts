import type { Server } from 'node:http';
import type { Registry } from 'prom-client';

/**
 * Serves the process's own metrics (memory, CPU, event-loop lag) at
 * /metrics, with the given registries (the control plane's rollout and
 * retirement metrics): what its --metrics-listen exposes.
 */
export async function serveProcessMetrics(
  listen: string,
  labels: Record<string, string>,
  /** Registries served alongside, e.g. the control plane's retirement counters. */
  extra: Registry[] = [],
): Promise<{ server: Server; address: string }> {
  const { collectDefaultMetrics, Registry } = await import('prom-client');
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'switchyard_control_plane_' });
  const served = extra.length > 0 ? Registry.merge([registry, ...extra]) : registry;
  served.setDefaultLabels(labels);
  const { startMetricsServer } = await import('@switchyard/prediction-node');
  return startMetricsServer(served, listen);
}
