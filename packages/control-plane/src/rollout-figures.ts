import type { Etcd3 } from 'etcd3';
import {
  RolloutStatsRecordSchema,
  ShadowStatsRecordSchema,
  addHistogram,
  emptyHistogram,
  histogramQuantile,
  parseStored,
  type KeyLayout,
  type Logger,
  type RolloutRecord,
  type RolloutStatsRecord,
  type ShadowStatsRecord,
} from '@switchyard/core';
import { etcdCall } from './etcd-errors.js';
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

/** Options for {@link RolloutFiguresReader}. */
export interface RolloutFiguresReaderOptions {
  etcd: Etcd3;
  keys: KeyLayout;
  logger: Logger;
}

/**
 * Reads the figures nodes publish for rollouts (node side:
 * prediction-node's rollout-stats-source.ts) and shadows, and deletes a
 * rollout's figures once it ended. Records are not lease-bound, so a node
 * that died mid-step still counts.
 */
export class RolloutFiguresReader {
  readonly #etcd: Etcd3;
  readonly #keys: KeyLayout;
  readonly #logger: Logger;

  constructor(options: RolloutFiguresReaderOptions) {
    this.#etcd = options.etcd;
    this.#keys = options.keys;
    this.#logger = options.logger;
  }

  /** The summed figures of the rollout's current step, with shadow results; null before the first step. */
  async current(model: string, rollout: RolloutRecord): Promise<StepFigures | null> {
    if (rollout.stepIndex < 0) return null;
    const [records, shadow] = await Promise.all([this.stepRecords(model, rollout.id, rollout.stepIndex), this.shadow(model, rollout.from, rollout.to)]);
    return { ...sumStepRecords(records, rollout.from, rollout.to), shadow };
  }

  /** Every node's valid report of one step (one range read). */
  async stepRecords(model: string, rolloutId: string, step: number): Promise<RolloutStatsRecord[]> {
    const prefix = this.#keys.rolloutStatsPrefix(model, rolloutId, step);
    const kvs = await etcdCall(() => this.#etcd.getAll().prefix(prefix).exec());
    const out: RolloutStatsRecord[] = [];
    for (const kv of kvs.kvs) {
      const parsed = parseStored(RolloutStatsRecordSchema, kv.value.toString('utf8'));
      if (parsed.ok && parsed.value.rolloutId === rolloutId && parsed.value.step === step) out.push(parsed.value);
      else this.#logInvalid(kv.key.toString('utf8'), parsed.ok ? 'it names another rollout or step' : parsed.error);
    }
    return out;
  }

  /** Shadow comparisons of `to` against `from`, over every node; null when none exist. */
  async shadow(model: string, from: string, to: string): Promise<ShadowFigures | null> {
    const prefix = this.#keys.shadowStatsPrefix(model, from, to);
    const kvs = await etcdCall(() => this.#etcd.getAll().prefix(prefix).exec());
    const records: ShadowStatsRecord[] = [];
    for (const kv of kvs.kvs) {
      const parsed = parseStored(ShadowStatsRecordSchema, kv.value.toString('utf8'));
      if (parsed.ok) records.push(parsed.value);
      else this.#logInvalid(kv.key.toString('utf8'), parsed.error);
    }
    return sumShadowRecords(records);
  }

  /** How many figure keys a rollout still has (a count, no values read). */
  async countStats(model: string, rolloutId: string): Promise<number> {
    return etcdCall(() => this.#etcd.getAll().prefix(this.#keys.rolloutStatsPrefix(model, rolloutId)).count());
  }

  /** Deletes every step's figures of a rollout. */
  async deleteStats(model: string, rolloutId: string): Promise<void> {
    await etcdCall(() => this.#etcd.delete().prefix(this.#keys.rolloutStatsPrefix(model, rolloutId)).exec());
  }

  #logInvalid(key: string, error: string): void {
    this.#logger.warn('ignoring an invalid node figures record in etcd; fix or delete it with etcdctl', { key, error });
  }
}
