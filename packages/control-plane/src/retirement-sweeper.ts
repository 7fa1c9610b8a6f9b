import { PeriodicTask } from './periodic-task.js';
import type { Clock, Logger } from '@switchyard/core';
import type { ArtifactStore } from './artifact-store.js';
import type { EtcdTables } from './etcd-tables.js';
import type { Leadership } from './leader-election.js';
import type { RetirementActions, StepOutcome } from './retirement-actions.js';
import { collectLocalArtifacts, sharedWith } from './retirement-artifacts.js';
import type { RetirementCounters } from './retirement-metrics.js';
import type { ResolvedRetirementOptions } from './retirement-options.js';
import { assessVersion } from './retirement-policy.js';
import { retirementView, usageId, type RetirementView } from './retirement-view.js';

/** Options for {@link RetirementSweeper}. */
export interface RetirementSweeperOptions {
  /** What it reads and deletes through; its steps write through `actions`. */
  tables: EtcdTables;
  artifacts: ArtifactStore;
  leadership: Leadership;
  clock: Clock;
  logger: Logger;
  options: ResolvedRetirementOptions;
  actions: RetirementActions;
  counters: RetirementCounters;
}

/** What one sweep did, as `model:version` names. */
export interface SweepReport {
  leader: boolean;
  warned: string[];
  cleared: string[];
  retired: string[];
  /** Versions whose artifact was marked for collection. */
  collected: string[];
  /** sha256s deleted from this replica's store. */
  deleted: string[];
  /** Steps that lost a compare-and-swap (something changed since the read); decided again next sweep. */
  conflicts: number;
}

/**
 * The leader-only sweeper: every `sweepIntervalMs` it reads models, versions,
 * routes and usage records and warns, clears, retires and marks artifacts for
 * collection, each step one guarded transaction. Every replica, leader or
 * not, also deletes from its own artifact store what the leader marked.
 */
export class RetirementSweeper {
  readonly #task: PeriodicTask<SweepReport>;
  /** Sweeps completed, for tests. */
  sweeps = 0;

  constructor(private readonly o: RetirementSweeperOptions) {
    this.#task = new PeriodicTask({
      run: () => this.#sweep(),
      intervalMs: o.options.sweepIntervalMs,
      logger: o.logger,
      failureMessage: 'retirement sweep failed; retrying at the next one',
    });
  }

  start(): void {
    if (this.o.options.sweeperEnabled) this.#task.start();
  }

  stop(): Promise<void> {
    return this.#task.stop();
  }

  /** One sweep now; concurrent calls share it. */
  sweepOnce(): Promise<SweepReport> {
    return this.#task.runOnce();
  }

  async #sweep(): Promise<SweepReport> {
    const { tables, logger } = this.o;
    const report: SweepReport = { leader: this.o.leadership.isLeader, warned: [], cleared: [], retired: [], collected: [], deleted: [], conflicts: 0 };
    let view = await retirementView(tables);
    if (report.leader) {
      const changed = await this.#decide(view, report);
      this.sweeps++;
      if (changed) view = await retirementView(tables);
    }
    report.deleted = await collectLocalArtifacts(view, this.o.artifacts, logger, this.o.counters);
    return report;
  }

  /** Applies every decision of a leader's sweep; resolves whether anything was marked for collection. */
  async #decide(view: RetirementView, report: SweepReport): Promise<boolean> {
    const { actions } = this.o;
    const now = this.o.clock.now();
    const count = (outcome: StepOutcome, into: string[], name: string): boolean => {
      if (outcome === 'conflict') report.conflicts++;
      if (outcome !== 'applied') return false;
      into.push(name);
      return true;
    };

    for (const [name, model] of view.models) {
      const route = view.routes.get(name);
      if (model.value.retiredAt !== undefined && route?.route?.splits.some((s) => s.weight > 0)) {
        if ((await actions.modelServingAgain(model, route.modRevision)) === 'conflict') report.conflicts++;
      }
    }

    // Usage of versions that no longer exist (deleted by hand, or with their model) is dropped, unconditionally:
    // a node that still serves the version from its cache writes it again, and the next sweep drops it again.
    const existing = new Set(view.versions.map((v) => usageId(v.value.model, v.value.version)));
    for (const id of view.usage.keys()) {
      if (existing.has(id) || !this.o.leadership.isLeader) continue;
      const [model, version] = [id.slice(0, id.indexOf('/')), id.slice(id.indexOf('/') + 1)];
      await this.o.tables.figures.deleteUsage(model, version);
    }

    // A retirement changes its model's route: that model's other steps wait for the next sweep's fresh read.
    const touched = new Set<string>();
    let assessed = 0;
    for (const v of view.versions) {
      if (!this.o.leadership.isLeader) break;
      // 100,000 assessments are about a second of CPU: let admin calls and the election's keep-alives through.
      if (++assessed % 500 === 0) await new Promise<void>((resolve) => setImmediate(resolve));
      const { model, version } = v.value;
      const name = `${model}:${version}`;
      const assessment = assessVersion({
        version: v.value,
        model: view.models.get(model)?.value,
        usage: view.usage.get(usageId(model, version)),
        route: view.routes.get(model)?.route,
        nowMs: now,
        options: this.o.options,
      });
      switch (assessment.action) {
        case 'WARN':
          count(await actions.warn(view, v, { reason: assessment.reason, retireAtMs: assessment.retireAtMs }), report.warned, name);
          break;
        case 'CLEAR':
          count(await actions.clear(v, assessment.reason), report.cleared, name);
          break;
        case 'RETIRE': {
          if (touched.has(model)) break;
          const { outcome } = await actions.retire(view, v, { actor: 'retirement-sweeper', reason: `expired: ${assessment.reason}`, guardUsage: true });
          if (count(outcome, report.retired, name)) touched.add(model);
          break;
        }
        case 'COLLECT':
          if (sharedWith(view, v.value) === undefined) count(await actions.markCollected(v), report.collected, name);
          break;
        default:
          break;
      }
    }
    return report.collected.length > 0;
  }
}
