import type { Metric } from 'prom-client';
import type { KeyLayout } from '@switchyard/core';
import type { ShadowPairStats, ShadowStatsTable } from './shadow-stats.js';
import type { PublishedEntry, StatsSource } from './stats-publisher.js';

type Sample = { value: number; labels: Record<string, string | number> };
type MetricType = 'counter' | 'gauge';

/** A prom-client metric computed from the shadow counters when /metrics is scraped. */
class ShadowMetric {
  readonly aggregator = 'sum' as const;

  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: MetricType,
    private readonly table: ShadowStatsTable,
    private readonly samples: (s: ShadowPairStats, labels: Record<string, string>) => Sample[],
  ) {}

  async get(): Promise<{ name: string; help: string; type: MetricType; aggregator: 'sum'; values: Sample[] }> {
    const values: Sample[] = [];
    for (const s of this.table.all()) values.push(...this.samples(s, { model: s.model, primary: s.primary, shadow: s.shadow }));
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }
}

const one = (value: (s: ShadowPairStats) => number) => (s: ShadowPairStats, labels: Record<string, string>) => [{ value: value(s), labels }];

/** The shadow metrics, by model, primary version and shadow version. */
export function shadowMetrics(table: ShadowStatsTable): Metric[] {
  const metrics = [
    new ShadowMetric('switchyard_shadow_mirrored_total', 'Answered requests sampled for replay against a shadow version.', 'counter', table, one((s) => s.mirrored)),
    new ShadowMetric(
      'switchyard_shadow_dropped_total',
      'Sampled shadow calls not run: queue full, node busy, or the shadow not READY on this node.',
      'counter',
      table,
      one((s) => s.dropped),
    ),
    new ShadowMetric('switchyard_shadow_failed_total', 'Shadow calls that failed, by kind (error, timeout, shape).', 'counter', table, (s, labels) =>
      (['error', 'timeout', 'shape'] as const).map((kind) => ({ value: s.failed[kind], labels: { ...labels, kind } })),
    ),
    new ShadowMetric('switchyard_shadow_compared_total', 'Shadow calls that ran and whose outputs were compared with the primary.', 'counter', table, one((s) => s.compared)),
    new ShadowMetric(
      'switchyard_shadow_agreed_total',
      "Compared shadow calls whose every output element was within the shadow's tolerance.",
      'counter',
      table,
      one((s) => s.agreed),
    ),
    new ShadowMetric('switchyard_shadow_max_abs_diff', 'Largest absolute difference between shadow and primary, per output, since the node started.', 'gauge', table, (s, labels) =>
      [...s.outputs].map(([output, o]) => ({ value: o.maxAbsDiff, labels: { ...labels, output } })),
    ),
  ];
  return metrics as unknown as Metric[];
}

/**
 * The stats-publisher source of shadow figures: one ShadowStatsRecord per
 * pair at `keys.shadowStats(model, primary, shadow, reporter)`, written only
 * when the pair's counters moved since the last tick.
 */
export function shadowStatsSource(options: {
  table: ShadowStatsTable;
  keys: KeyLayout;
  nodeId: string;
  incarnation: string;
}): StatsSource {
  const published = new Map<string, number>();
  const reporter = `${options.nodeId}.${options.incarnation}`;
  return function* (nowMs: number): Iterable<PublishedEntry> {
    for (const s of options.table.all()) {
      const id = `${s.model}/${s.primary}/${s.shadow}`;
      if (published.get(id) === s.changes) continue;
      published.set(id, s.changes);
      yield {
        key: options.keys.shadowStats(s.model, s.primary, s.shadow, reporter),
        value: JSON.stringify(s.record(options.nodeId, options.incarnation, nowMs)),
      };
    }
  };
}
