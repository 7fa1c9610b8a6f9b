import type { KeyLayout, Logger } from '@switchyard/core';
import type { NodeMetrics } from './node-metrics.js';
import type { PrimaryInFlight } from './primary-in-flight.js';
import type { RoutingTable } from './routing-table.js';
import { EventLoopBusySignal } from './shadow-load.js';
import { shadowMetrics, shadowStatsSource } from './shadow-metrics.js';
import { ShadowMirror, type ShadowOptions, type ShadowRun } from './shadow-mirror.js';
import { ShadowStatsTable } from './shadow-stats.js';
import type { StatsPublisher } from './stats-publisher.js';
import { versionKey, type TargetStateView } from './target-state.js';

export type { ShadowOptions } from './shadow-mirror.js';

/**
 * Wires shadow mirroring into a node: the mirror reading shadows from the
 * target state and versions from the routing table being served, its
 * counters as Prometheus metrics and as published ShadowStatsRecords.
 */
export function startShadowMirroring(parts: {
  metrics: NodeMetrics;
  publisher: StatsPublisher;
  keys: KeyLayout;
  nodeId: string;
  incarnation: string;
  target: TargetStateView;
  /** What the node serves (the reconciler). */
  served: { readonly table: RoutingTable };
  logger: Logger;
  options: ShadowOptions | undefined;
  inFlight: PrimaryInFlight;
  /**
   * A shadow version not loaded here (model density, issue #16): its copy is
   * dropped (counted), never waited for, and this starts its load so the
   * next copies find it.
   */
  onShadowNotLoaded?: (model: string, version: string) => void;
  onShadowRun?: (run: ShadowRun) => void;
}): ShadowMirror {
  const table = new ShadowStatsTable();
  for (const metric of shadowMetrics(table)) parts.metrics.registry.registerMetric(metric);
  parts.publisher.add(shadowStatsSource({ table, keys: parts.keys, nodeId: parts.nodeId, incarnation: parts.incarnation }));
  const busy = new EventLoopBusySignal(parts.options?.busyThreshold === undefined ? {} : { threshold: parts.options.busyThreshold });
  return new ShadowMirror(
    {
      stats: table,
      shadowsOf: (model) => parts.target.current()?.routes.get(model)?.shadows,
      versionOf: (model, version) => {
        const loaded = parts.served.table.versions.get(versionKey(model, version));
        if (loaded === undefined) parts.onShadowNotLoaded?.(model, version);
        return loaded;
      },
      busy,
      primariesInFlight: () => parts.inFlight.value,
      logger: parts.logger.child({ component: 'shadow' }),
      ...(parts.onShadowRun ? { onShadowRun: parts.onShadowRun } : {}),
    },
    parts.options,
  );
}
