import {
  addHistogram,
  emptyHistogram,
  histogramQuantile,
  type KeyLayout,
  type Logger,
  type RolloutRecord,
  type RolloutStatsRecord,
  type ShadowStatsRecord,
} from '@switchyard/core';
import type { EtcdClient } from './etcd-client.js';
import type { FiguresTable } from './etcd-figures.js';
import { EtcdTables } from './etcd-tables.js';
import type { ShadowFigures, StepFigures, VersionFigures } from './rollout-gates.js';

/**
 * Sums every node's report of one step into the two versions' figures:
 * requests and errors add up, latency histograms add bucket by bucket and
 * p99 is read from the sum (a p99 of p99s would be meaningless).
 */
export function sumStepRecords(records: readonly RolloutStatsRecord[], from: string, to: string): { from: VersionFigures; to: VersionFigures } {
  return { from: sumVersion(records, from), to: sumVersion(records, to) };
}

function sumVersion(records: readonly RolloutStatsRecord[], version: string): VersionFigures {
  let requests = 0;
  let errors = 0;
  const latency = emptyHistogram();
  for (const record of records) {
    const counters = record.versions[version];
    if (!counters) continue;
    requests += counters.requests;
    errors += counters.errors;
    addHistogram(latency, counters.latency);
  }
  const p99 = histogramQuantile(latency, 0.99);
  return { version, requests, errors, errorRate: requests > 0 ? errors / requests : 0, p99Ms: Number.isNaN(p99) ? null : p99 * 1000 };
}

/** Sums every node's shadow comparisons; null when no node reported any. */
export function sumShadowRecords(records: readonly ShadowStatsRecord[]): ShadowFigures | null {
  if (records.length === 0) return null;
  let compared = 0;
  let agreed = 0;
  for (const r of records) {
    compared += r.compared;
    agreed += r.agreed;
  }
  return { compared, agreed };
}

/** Options for {@link RolloutFiguresReader}: the tables to read through, or a client to build them on. */
export type RolloutFiguresReaderOptions = { tables: EtcdTables } | { etcd: EtcdClient; keys: KeyLayout; logger: Logger };

/**
 * Reads the figures nodes publish for rollouts (node side:
 * prediction-node's rollout-stats-source.ts) and shadows, and deletes a
 * rollout's figures once it ended. Records are not lease-bound, so a node
 * that died mid-step still counts.
 */
export class RolloutFiguresReader {
  readonly #figures: FiguresTable;

  constructor(options: RolloutFiguresReaderOptions) {
    this.#figures = ('tables' in options ? options.tables : new EtcdTables(options)).figures;
  }

  /** The summed figures of the rollout's current step, with shadow results; null before the first step. */
  async current(model: string, rollout: RolloutRecord): Promise<StepFigures | null> {
    if (rollout.stepIndex < 0) return null;
    const [records, shadow] = await Promise.all([this.stepRecords(model, rollout.id, rollout.stepIndex), this.shadow(model, rollout.from, rollout.to)]);
    return { ...sumStepRecords(records, rollout.from, rollout.to), shadow };
  }

  /** Every node's valid report of one step (one range read). */
  stepRecords(model: string, rolloutId: string, step: number): Promise<RolloutStatsRecord[]> {
    return this.#figures.rolloutStep(model, rolloutId, step);
  }

  /** Shadow comparisons of `to` against `from`, over every node; null when none exist. */
  async shadow(model: string, from: string, to: string): Promise<ShadowFigures | null> {
    return sumShadowRecords(await this.#figures.shadow(model, from, to));
  }

  /** How many figure keys a rollout still has (a count, no values read). */
  countStats(model: string, rolloutId: string): Promise<number> {
    return this.#figures.countRollout(model, rolloutId);
  }

  /** Deletes every step's figures of a rollout (unconditionally). */
  deleteStats(model: string, rolloutId: string): Promise<void> {
    return this.#figures.deleteRollout(model, rolloutId);
  }
}
