import { HISTOGRAM_BUCKETS, histogramBucket, type ShadowOutputStats, type ShadowStatsRecord } from '@switchyard/core';
import type { OutputComparison } from './shadow-compare.js';

/** Why a shadow call produced nothing to compare. */
export type ShadowFailure = 'error' | 'timeout' | 'shape';

/**
 * One (model, primary version, shadow version)'s counters on this node,
 * cumulative since the process started, in plain fields (no label hashing
 * on the request path); published to etcd and scraped from here.
 */
export class ShadowPairStats {
  /** Requests sampled for mirroring. */
  mirrored = 0;
  /** Sampled but not run: queue full, node busy, or the shadow not READY here. */
  dropped = 0;
  readonly failed = { error: 0, timeout: 0, shape: 0 };
  /** Shadow calls that ran and were compared. */
  compared = 0;
  /** Compared calls whose every output element was within tolerance. */
  agreed = 0;
  readonly outputs = new Map<string, ShadowOutputStats>();
  /** The shadow's own latency, over core's fine histogram buckets. */
  readonly latency = new Float64Array(HISTOGRAM_BUCKETS + 1);
  /** Bumped on every change, so the publisher writes only pairs that moved. */
  changes = 0;

  constructor(
    readonly model: string,
    readonly primary: string,
    readonly shadow: string,
    /** The shadow's `addedAt` these counters belong to. */
    readonly epoch = '',
  ) {}

  countMirrored(): void {
    this.mirrored++;
    this.changes++;
  }

  countDropped(): void {
    this.dropped++;
    this.changes++;
  }

  countFailure(kind: ShadowFailure, seconds?: number): void {
    this.failed[kind]++;
    if (seconds !== undefined) this.latency[histogramBucket(seconds)]!++;
    this.changes++;
  }

  /** Adds one compared request. */
  countCompared(outputs: ReadonlyMap<string, OutputComparison>, agreed: boolean, seconds: number): void {
    this.compared++;
    if (agreed) this.agreed++;
    this.latency[histogramBucket(seconds)]!++;
    for (const [name, c] of outputs) {
      let o = this.outputs.get(name);
      if (!o) this.outputs.set(name, (o = { elements: 0, sumAbsDiff: 0, maxAbsDiff: 0, withinTolerance: 0, top1Compared: 0, top1Agreed: 0 }));
      o.elements += c.elements;
      o.sumAbsDiff += c.sumAbsDiff;
      if (c.maxAbsDiff > o.maxAbsDiff) o.maxAbsDiff = c.maxAbsDiff;
      o.withinTolerance += c.withinTolerance;
      if (c.top1Compared) {
        o.top1Compared++;
        if (c.top1Agreed) o.top1Agreed++;
      }
    }
    this.changes++;
  }

  /** Largest absolute difference seen on any output; 0 before any comparison. */
  get maxAbsDiff(): number {
    let max = 0;
    for (const o of this.outputs.values()) if (o.maxAbsDiff > max) max = o.maxAbsDiff;
    return max;
  }

  record(nodeId: string, incarnation: string, nowMs: number): ShadowStatsRecord {
    return {
      nodeId,
      incarnation,
      model: this.model,
      primary: this.primary,
      shadow: this.shadow,
      mirrored: this.mirrored,
      dropped: this.dropped,
      failed: { ...this.failed },
      compared: this.compared,
      agreed: this.agreed,
      // JSON has no Infinity (a NaN against a number): store the largest finite double instead.
      outputs: Object.fromEntries(
        [...this.outputs].map(([name, o]) => [name, { ...o, sumAbsDiff: finite(o.sumAbsDiff), maxAbsDiff: finite(o.maxAbsDiff) }]),
      ),
      latency: Array.from(this.latency),
      updatedAt: new Date(nowMs).toISOString(),
    };
  }
}

function finite(v: number): number {
  return Number.isFinite(v) ? v : Number.MAX_VALUE;
}

/** Every shadow pair's counters on this node, created on first use and kept for the process's life. */
export class ShadowStatsTable {
  private readonly pairs = new Map<string, ShadowPairStats>();

  /**
   * The pair's counters. `epoch` is the shadow's `addedAt`: a version added
   * as a shadow again starts from zero (the control plane deleted its old
   * figures), so counters of an earlier epoch are replaced.
   */
  pair(model: string, primary: string, shadow: string, epoch = ''): ShadowPairStats {
    const key = `${model}/${primary}/${shadow}`;
    let stats = this.pairs.get(key);
    if (!stats || stats.epoch !== epoch) {
      const fresh = new ShadowPairStats(model, primary, shadow, epoch);
      // Keep the change count moving, so the publisher writes the reset.
      if (stats) fresh.changes = stats.changes + 1;
      this.pairs.set(key, (stats = fresh));
    }
    return stats;
  }

  all(): Iterable<ShadowPairStats> {
    return this.pairs.values();
  }
}
