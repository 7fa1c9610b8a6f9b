import {
  addHistogram,
  emptyHistogram,
  histogramQuantile,
  type ShadowEntry,
  type ShadowMessage,
  type ShadowOutputStats,
  type ShadowPairReportMessage,
  type ShadowStatsRecord,
} from '@switchyard/core';

/** Every node's figures for one (primary, shadow) of a model, summed. */
export interface ShadowPairFigures {
  primary: string;
  shadow: string;
  mirrored: number;
  dropped: number;
  failed: { error: number; timeout: number; shape: number };
  compared: number;
  agreed: number;
  outputs: Map<string, ShadowOutputStats>;
  latency: number[];
  reporters: number;
}

/** Sums records per (primary, shadow), in shadow then primary order. */
export function sumShadowStats(records: readonly ShadowStatsRecord[]): ShadowPairFigures[] {
  const pairs = new Map<string, ShadowPairFigures>();
  for (const r of records) {
    const id = `${r.primary}\0${r.shadow}`;
    let p = pairs.get(id);
    if (!p) {
      p = {
        primary: r.primary,
        shadow: r.shadow,
        mirrored: 0,
        dropped: 0,
        failed: { error: 0, timeout: 0, shape: 0 },
        compared: 0,
        agreed: 0,
        outputs: new Map(),
        latency: emptyHistogram(),
        reporters: 0,
      };
      pairs.set(id, p);
    }
    p.reporters++;
    p.mirrored += r.mirrored;
    p.dropped += r.dropped;
    p.failed.error += r.failed.error;
    p.failed.timeout += r.failed.timeout;
    p.failed.shape += r.failed.shape;
    p.compared += r.compared;
    p.agreed += r.agreed;
    addHistogram(p.latency, r.latency);
    for (const [name, o] of Object.entries(r.outputs)) {
      const sum = p.outputs.get(name);
      if (!sum) {
        p.outputs.set(name, { ...o });
        continue;
      }
      sum.elements += o.elements;
      sum.sumAbsDiff += o.sumAbsDiff;
      sum.maxAbsDiff = Math.max(sum.maxAbsDiff, o.maxAbsDiff);
      sum.withinTolerance += o.withinTolerance;
      sum.top1Compared += o.top1Compared;
      sum.top1Agreed += o.top1Agreed;
    }
  }
  return [...pairs.values()].sort((a, b) => cmp(a.shadow, b.shadow) || cmp(a.primary, b.primary));
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

const share = (part: number, whole: number): number => (whole > 0 ? part / whole : 0);

const ms = (seconds: number): number => (Number.isNaN(seconds) ? 0 : seconds * 1000);

/** The API's view of one pair's summed figures. */
export function pairToMessage(p: ShadowPairFigures, active: boolean): ShadowPairReportMessage {
  return {
    primary: p.primary,
    shadow: p.shadow,
    mirrored: String(p.mirrored),
    dropped: String(p.dropped),
    failed_error: String(p.failed.error),
    failed_timeout: String(p.failed.timeout),
    failed_shape: String(p.failed.shape),
    compared: String(p.compared),
    agreed: String(p.agreed),
    agreement: share(p.agreed, p.compared),
    outputs: [...p.outputs]
      .sort(([a], [b]) => cmp(a, b))
      .map(([name, o]) => ({
        name,
        elements: String(o.elements),
        mean_abs_diff: share(o.sumAbsDiff, o.elements),
        max_abs_diff: o.maxAbsDiff,
        within_tolerance: share(o.withinTolerance, o.elements),
        top1_compared: String(o.top1Compared),
        top1_agreement: share(o.top1Agreed, o.top1Compared),
      })),
    reporters: p.reporters,
    active,
    latency_p50_ms: ms(histogramQuantile(p.latency, 0.5)),
    latency_p99_ms: ms(histogramQuantile(p.latency, 0.99)),
  };
}

/** The API's view of a stored shadow entry. */
export function shadowToMessage(entry: ShadowEntry): ShadowMessage {
  return {
    version: entry.version,
    fraction: entry.fraction,
    until: entry.until ?? '',
    budget: String(entry.budget ?? 0),
    tolerance: entry.tolerance,
    added_at: entry.addedAt,
    added_by: entry.addedBy,
    auto: entry.auto,
  };
}
