import { systemClock, type Clock, type KeyLayout, type UsageRecord } from '@switchyard/core';
import type { PublishedEntry, StatsSource } from './stats-publisher.js';
import type { VersionStats } from './version-stats.js';

/** Options for {@link UsageSource}. */
export interface UsageSourceOptions {
  keys: KeyLayout;
  nodeId: string;
  /** Every version's counters on this node. */
  stats: () => Iterable<VersionStats>;
  /** Least time between two writes of one version's record. @default 60000 */
  intervalMs?: number;
  /**
   * The node's clock minus the wall clock, in ms, added to the use times it
   * publishes; 0 in production, a fake clock's offset in tests that run days
   * in milliseconds. @default () => 0
   */
  clockOffsetMs?: () => number;
}

interface Published {
  primaryMs: number;
  shadowMs: number;
  /** Publisher time of the last write. */
  atMs: number;
}

/**
 * Publishes when each version was last used on this node
 * (`runtime/usage/{model}/{version}/{nodeId}`), coalesced: a version's
 * record is written at most once per `intervalMs`, and only when its use
 * changed, so a busy node costs at most (versions used) / intervalMs writes
 * however many requests it serves. The publisher's final collection (on
 * drain) and {@link flushNext} lift the interval for one collection, and
 * {@link retain} keeps the last use of a version being unloaded, whose
 * counters are about to be dropped.
 */
export class UsageSource {
  private readonly published = new Map<string, Published>();
  /** Last use of versions whose counters were dropped, still to be written. */
  private readonly retained = new Map<string, { model: string; version: string; primaryMs: number; shadowMs: number }>();
  private flush = false;
  private readonly intervalMs: number;

  constructor(private readonly options: UsageSourceOptions) {
    this.intervalMs = options.intervalMs ?? 60_000;
  }

  /** The function to hand to `StatsPublisher.add`. */
  readonly source: StatsSource = (nowMs, final) => {
    if (final) this.flush = true;
    return this.collect(nowMs);
  };

  /** Writes every changed record at the next collection, whatever the interval (drain). */
  flushNext(): void {
    this.flush = true;
  }

  /** Keeps the last use of a version whose counters are being dropped (unloaded), to be written when due. */
  retain(stats: VersionStats): void {
    if (stats.lastUsedMs === 0 && stats.lastShadowUsedMs === 0) return;
    this.retained.set(`${stats.model}/${stats.version}`, {
      model: stats.model,
      version: stats.version,
      primaryMs: stats.lastUsedMs,
      shadowMs: stats.lastShadowUsedMs,
    });
  }

  private collect(nowMs: number): PublishedEntry[] {
    const flush = this.flush;
    this.flush = false;
    const out: PublishedEntry[] = [];
    const seen = new Set<string>();
    const consider = (model: string, version: string, primaryMs: number, shadowMs: number): boolean => {
      const id = `${model}/${version}`;
      seen.add(id);
      if (primaryMs === 0 && shadowMs === 0) return true;
      const last = this.published.get(id);
      if (last && last.primaryMs === primaryMs && last.shadowMs === shadowMs) return true;
      if (last && !flush && nowMs - last.atMs < this.intervalMs) return false;
      this.published.set(id, { primaryMs, shadowMs, atMs: nowMs });
      out.push({ key: this.options.keys.usage(model, version, this.options.nodeId), value: JSON.stringify(this.record(model, version, primaryMs, shadowMs, nowMs)) });
      return true;
    };
    for (const s of this.options.stats()) consider(s.model, s.version, s.lastUsedMs, s.lastShadowUsedMs);
    for (const [id, r] of this.retained) {
      // Loaded again meanwhile: its live counters were just considered instead.
      if (seen.has(id)) this.retained.delete(id);
      else if (consider(r.model, r.version, r.primaryMs, r.shadowMs)) this.retained.delete(id);
    }
    return out;
  }

  private record(model: string, version: string, primaryMs: number, shadowMs: number, nowMs: number): UsageRecord {
    const offset = this.options.clockOffsetMs?.() ?? 0;
    const at = (ms: number) => (ms === 0 ? null : new Date(ms + offset).toISOString());
    return { nodeId: this.options.nodeId, model, version, lastPrimaryAt: at(primaryMs), lastShadowAt: at(shadowMs), ratePerSecond: 0, updatedAt: new Date(nowMs + offset).toISOString() };
  }
}

/** {@link UsageSourceOptions.clockOffsetMs} for a node running on `clock`. */
export function clockOffset(clock: Clock): () => number {
  // Two reads of the wall clock can differ by a millisecond; its offset is 0.
  if (clock === systemClock) return () => 0;
  return () => clock.now() - Date.now();
}
