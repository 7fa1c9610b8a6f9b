import {
  subtractHistogram,
  type KeyLayout,
  type RolloutStatsRecord,
  type RouteRecord,
  type VersionCounters,
} from '@switchyard/core';
import type { PublishedEntry, StatsSource } from './stats-publisher.js';

/** Options for {@link rolloutStatsSource}. */
export interface RolloutStatsSourceOptions {
  keys: KeyLayout;
  nodeId: string;
  /** Random per process; `{nodeId}.{incarnation}` is the reporter segment of the key. */
  incarnation: string;
  /** The routes of the target state the node serves now. */
  routes: () => Iterable<RouteRecord>;
  /**
   * A version's cumulative counters on this node (VersionStats.counters());
   * undefined when the node keeps none for it (not loaded here), read as zeros.
   */
  counters: (model: string, version: string) => VersionCounters | undefined;
}

/** What one model's current rollout step looks like from this node. */
interface TrackedStep {
  rolloutId: string;
  step: number;
  /** Cumulative counters when the node first saw the step, by version. */
  baseline: Map<string, VersionCounters>;
  /** The step's figures last handed to the publisher (JSON of `versions`); '' before the first. */
  published: string;
}

/**
 * A stats source publishing what this node served to a rollout's two
 * versions during its current step: when the node first sees a (rollout,
 * step) it snapshots both versions' cumulative counters, and every tick
 * after it hands the publisher the difference, under
 * `keys.rolloutStats(model, rolloutId, step, reporter)`, only when it
 * changed. The controller sums every reporter's record of the step.
 * Figures are published for PROGRESSING and PAUSED rollouts (a paused step's
 * figures stay live for `rollout status`); records are never deleted here:
 * the controller deletes a rollout's figures when it ends.
 */
export function rolloutStatsSource(options: RolloutStatsSourceOptions): StatsSource {
  const tracked = new Map<string, TrackedStep>();
  const reporter = `${options.nodeId}.${options.incarnation}`;

  return function* collect(nowMs: number): Iterable<PublishedEntry> {
    const seen = new Set<string>();
    for (const route of options.routes()) {
      const rollout = route.rollout;
      if (!rollout || (rollout.state !== 'PROGRESSING' && rollout.state !== 'PAUSED') || rollout.stepIndex < 0) continue;
      const model = route.model;
      seen.add(model);
      const versions = [rollout.from, rollout.to];
      let step = tracked.get(model);
      if (!step || step.rolloutId !== rollout.id || step.step !== rollout.stepIndex) {
        step = {
          rolloutId: rollout.id,
          step: rollout.stepIndex,
          baseline: new Map(versions.map((v) => [v, options.counters(model, v) ?? zeroCounters()])),
          published: '',
        };
        tracked.set(model, step);
      }
      const figures: Record<string, VersionCounters> = {};
      let requests = 0;
      for (const version of versions) {
        const current = options.counters(model, version) ?? zeroCounters();
        let base = step.baseline.get(version)!;
        // Counters restart when a version is unloaded and loaded again: everything since then is new.
        if (current.requests < base.requests) step.baseline.set(version, (base = zeroCounters()));
        figures[version] = difference(current, base);
        requests += figures[version].requests;
      }
      const text = JSON.stringify(figures);
      // Nothing served yet is not worth a write from every node.
      if (text === step.published || (step.published === '' && requests === 0)) continue;
      step.published = text;
      const record: RolloutStatsRecord = {
        nodeId: options.nodeId,
        incarnation: options.incarnation,
        model,
        rolloutId: rollout.id,
        step: rollout.stepIndex,
        versions: figures,
        updatedAt: new Date(nowMs).toISOString(),
      };
      yield { key: options.keys.rolloutStats(model, rollout.id, rollout.stepIndex, reporter), value: JSON.stringify(record) };
    }
    for (const model of tracked.keys()) if (!seen.has(model)) tracked.delete(model);
  };
}

function difference(current: VersionCounters, base: VersionCounters): VersionCounters {
  return {
    requests: Math.max(0, current.requests - base.requests),
    errors: Math.max(0, current.errors - base.errors),
    latencySumSeconds: Math.max(0, current.latencySumSeconds - base.latencySumSeconds),
    latency: subtractHistogram(current.latency, base.latency),
  };
}

function zeroCounters(): VersionCounters {
  return { requests: 0, errors: 0, latencySumSeconds: 0, latency: [] };
}
