import {
  type Clock,
  type HistoryEntryRecord,
  type Logger,
  type ModelRecord,
  type RetirementRecord,
  type RouteRecord,
  type VersionRecord,
} from '@switchyard/core';
import { notRefused, type GuardedWrite } from './etcd-guarded-write.js';
import type { Stored } from './etcd-read.js';
import type { EtcdTables } from './etcd-tables.js';
import { historyEntry } from './history-entries.js';
import type { RetirementCounters } from './retirement-metrics.js';
import type { ResolvedRetirementOptions } from './retirement-options.js';
import { emptiedRoute, routeWithout } from './retirement-route.js';
import type { RetirementView } from './retirement-view.js';

/** Outcome of one step: written, lost a compare-and-swap (something changed; decide again next sweep), or not applicable. */
export type StepOutcome = 'applied' | 'conflict' | 'skipped';

/** Options for {@link RetirementActions}. */
export interface RetirementActionsOptions {
  /** Every step is a guarded write staged through these tables. */
  tables: EtcdTables;
  clock: Clock;
  logger: Logger;
  options: ResolvedRetirementOptions;
  counters: RetirementCounters;
}

/** How a version's retirement was decided: by the sweeper (guarded by usage) or by hand. */
export interface RetireCause {
  actor: string;
  reason: string;
  /** Abort if any usage record of the version changed after the view was read. */
  guardUsage: boolean;
}

/**
 * The retirement steps (warn, clear, retire, collect, unretire, pin), each
 * one guarded write (etcd-guarded-write.ts) that also writes its audit
 * entry: a step decided from a version, route and usage records applies only
 * if none of them changed since they were read, so of two sweepers deciding
 * the same step from the same reads exactly one succeeds. Shared by the
 * sweeper and the admin RPCs.
 */
export class RetirementActions {
  readonly tables: EtcdTables;

  constructor(private readonly o: RetirementActionsOptions) {
    this.tables = o.tables;
  }

  now(): string {
    return new Date(this.o.clock.now()).toISOString();
  }

  /** ACTIVE → WARNED; aborted when the version was used (a usage record changed) since the view was read. */
  async warn(view: RetirementView, v: Stored<VersionRecord>, detail: { reason: string; retireAtMs: number | undefined }): Promise<StepOutcome> {
    const now = this.now();
    const after = withRetirement(v.value, { ...retirementOf(v.value), state: 'WARNED', warnedAt: now });
    const write = this.tables
      .write()
      .expectUnchangedSince(this.tables.keys.usagePrefix(v.value.model, v.value.version), view.usageRevision)
      .audit(this.#entry('WarnExpiring', v.value, v.value, after, 'retirement-sweeper'));
    if (!(await commit(this.tables.versions.stage(write, v, after)))) return 'conflict';
    const owner = view.models.get(v.value.model)?.value.owner || '(no owner set)';
    this.o.counters.warned.inc();
    this.o.logger.warn('model version will be retired unless it is used', {
      model: v.value.model,
      version: v.value.version,
      owner,
      reason: detail.reason,
      retireAt: detail.retireAtMs === undefined ? undefined : new Date(detail.retireAtMs).toISOString(),
    });
    return 'applied';
  }

  /** WARNED → ACTIVE (used again, pinned, or its expiration moved). */
  async clear(v: Stored<VersionRecord>, reason: string, actor = 'retirement-sweeper'): Promise<StepOutcome> {
    const after = withRetirement(v.value, { ...retirementOf(v.value), state: 'ACTIVE', warnedAt: null });
    const write = this.tables.write().audit(this.#entry('ClearWarning', v.value, v.value, after, actor));
    if (!(await commit(this.tables.versions.stage(write, v, after)))) return 'conflict';
    this.o.counters.cleared.inc();
    this.o.logger.info('retirement warning cleared', { model: v.value.model, version: v.value.version, reason });
    return 'applied';
  }

  /**
   * → RETIRED: the version out of its route (its weight spread over the
   * others in proportion, or the route emptied and the model retired when it
   * was the only one with weight) and out of the shadows; its artifact due
   * for collection after the retention period.
   */
  async retire(view: RetirementView, v: Stored<VersionRecord>, cause: RetireCause): Promise<{ outcome: StepOutcome; modelRetired: boolean }> {
    const { model, version } = v.value;
    const routeState = view.routes.get(model);
    if (routeState?.invalid) {
      this.o.logger.warn('not retiring a version whose route is invalid in etcd; fix the route with SetRoute', { model, version });
      return { outcome: 'skipped', modelRetired: false };
    }
    const now = this.now();
    const after = withRetirement(v.value, {
      ...retirementOf(v.value),
      state: 'RETIRED',
      retiredAt: now,
      reason: cause.reason,
      artifactDeleteAfter: new Date(this.o.clock.now() + this.o.options.artifactRetentionSeconds * 1000).toISOString(),
      artifactDeletedAt: null,
    });
    const { keys } = this.tables;
    const write = this.tables
      .write()
      .expectRevision(keys.route(model), routeState?.modRevision ?? '0')
      .audit(this.#entry('RetireVersion', v.value, v.value, after, cause.actor));
    this.tables.versions.stage(write, v, after);
    if (cause.guardUsage) write.expectUnchangedSince(keys.usagePrefix(model, version), view.usageRevision);
    let modelRetired = false;
    const route = routeState?.route;
    if (route) {
      const next = routeWithout(route, version, { now, actor: cause.actor });
      if (next.changed) {
        this.tables.routes.stage(write, next.route).audit(this.#entry('RetireRoute', v.value, route, next.route, cause.actor));
      }
      if (next.modelRetired) {
        modelRetired = true;
        this.#retireModelRecord(view, model, now, cause.actor, write);
      }
    }
    if (!(await commit(write))) return { outcome: 'conflict', modelRetired: false };
    this.o.counters.retired.inc();
    this.o.logger.info(modelRetired ? 'model retired with its last weighted version' : 'model version retired', {
      model,
      version,
      owner: view.models.get(model)?.value.owner || undefined,
      actor: cause.actor,
      reason: cause.reason,
      artifactDeleteAfter: after.retirement?.artifactDeleteAfter,
    });
    return { outcome: 'applied', modelRetired };
  }

  /** Every version of a model that is not retired yet, its route emptied and the model marked, in one transaction. */
  async retireModel(view: RetirementView, model: string, versions: Stored<VersionRecord>[], actor: string): Promise<StepOutcome> {
    const routeState = view.routes.get(model);
    const now = this.now();
    const write = this.tables.write().expectRevision(this.tables.keys.route(model), routeState?.modRevision ?? '0');
    const reason = `retired by ${actor} with the whole model`;
    for (const v of versions) {
      const after = withRetirement(v.value, {
        ...retirementOf(v.value),
        state: 'RETIRED',
        retiredAt: now,
        reason,
        artifactDeleteAfter: new Date(this.o.clock.now() + this.o.options.artifactRetentionSeconds * 1000).toISOString(),
        artifactDeletedAt: null,
      });
      this.tables.versions.stage(write, v, after).audit(this.#entry('RetireVersion', v.value, v.value, after, actor));
    }
    const route = routeState?.route;
    if (route && (route.splits.length > 0 || route.shadows.length > 0)) {
      const emptied = emptiedRoute(route, { now, actor });
      this.tables.routes.stage(write, emptied).audit(this.#entry('RetireRoute', { model, version: '' }, route, emptied, actor));
    }
    this.#retireModelRecord(view, model, now, actor, write);
    if (!(await commit(write))) return 'conflict';
    this.o.counters.retired.inc(versions.length);
    this.o.logger.info('model retired', { model, versions: versions.map((v) => v.value.version).join(','), actor });
    return 'applied';
  }

  /** Records that a retired version's artifact was collected; the file itself is removed by each replica's local pass. */
  async markCollected(v: Stored<VersionRecord>): Promise<StepOutcome> {
    const after = withRetirement(v.value, { ...retirementOf(v.value), artifactDeletedAt: this.now() });
    const write = this.tables.write().audit(this.#entry('CollectArtifact', v.value, v.value, after, 'retirement-sweeper'));
    return (await commit(this.tables.versions.stage(write, v, after))) ? 'applied' : 'conflict';
  }

  /** RETIRED → ACTIVE with a fresh clock; clears the model's retired mark. Gives it no weight. */
  async unretire(view: RetirementView, v: Stored<VersionRecord>, actor: string): Promise<{ outcome: StepOutcome; record: VersionRecord }> {
    const now = this.now();
    const after = withRetirement(v.value, {
      state: 'ACTIVE',
      activeSince: now,
      warnedAt: null,
      retiredAt: null,
      reason: '',
      artifactDeleteAfter: null,
      artifactDeletedAt: null,
    });
    const write = this.tables.write().audit(this.#entry('UnretireVersion', v.value, v.value, after, actor));
    this.tables.versions.stage(write, v, after);
    const model = view.models.get(v.value.model);
    if (model?.value.retiredAt !== undefined) this.#modelServingAgain(model, now, actor, write);
    return { outcome: (await commit(write)) ? 'applied' : 'conflict', record: after };
  }

  /** Pins or unpins; pinning a WARNED version clears the warning in the same step. */
  async pin(v: Stored<VersionRecord>, pinned: boolean, actor: string): Promise<{ outcome: StepOutcome; record: VersionRecord }> {
    let after: VersionRecord = { ...v.value, pinned };
    if (pinned && v.value.retirement?.state === 'WARNED') after = withRetirement(after, { ...retirementOf(v.value), state: 'ACTIVE', warnedAt: null });
    // Unpinning restarts the clock: a version pinned for a year is not retired the minute it is unpinned.
    if (!pinned && v.value.pinned) after = withRetirement(after, { ...retirementOf(v.value), activeSince: this.now() });
    const write = this.tables.write().audit(this.#entry(pinned ? 'PinVersion' : 'UnpinVersion', v.value, v.value, after, actor));
    return { outcome: (await commit(this.tables.versions.stage(write, v, after))) ? 'applied' : 'conflict', record: after };
  }

  /** Drops the retired mark of a model whose route carries weight again (someone routed an unretired version). */
  async modelServingAgain(model: Stored<ModelRecord>, routeRevision: string): Promise<StepOutcome> {
    const write = this.tables.write().expectRevision(this.tables.keys.route(model.value.name), routeRevision);
    this.#modelServingAgain(model, this.now(), 'retirement-sweeper', write);
    return (await commit(write)) ? 'applied' : 'conflict';
  }

  #modelServingAgain(model: Stored<ModelRecord>, now: string, actor: string, write: GuardedWrite): void {
    const { retiredAt: _dropped, ...rest } = model.value;
    const after: ModelRecord = { ...rest, updatedAt: now };
    this.tables.models
      .stage(write.expectStored(model), after)
      .audit(historyEntry({ at: now, actor, action: 'UnretireModel', model: model.value.name, before: model.value, after }));
  }

  #retireModelRecord(view: RetirementView, model: string, now: string, actor: string, write: GuardedWrite): void {
    const stored = view.models.get(model);
    if (!stored) return;
    const after: ModelRecord = { ...stored.value, retiredAt: now, updatedAt: now };
    this.tables.models.stage(write.expectStored(stored), after).audit(historyEntry({ at: now, actor, action: 'RetireModel', model, before: stored.value, after }));
  }

  #entry(action: string, v: { model: string; version: string }, before: VersionRecord | RouteRecord, after: VersionRecord | RouteRecord, actor: string): HistoryEntryRecord {
    return historyEntry({ at: this.now(), actor, action, model: v.model, ...(v.version ? { version: v.version } : {}), before, after });
  }
}

/** Commits a step; resolves false when something it was decided from changed (nothing was written). */
async function commit(write: GuardedWrite): Promise<boolean> {
  return notRefused(await write.commit()).status === 'written';
}

/** The version's retirement fields, defaults filled in (absent means ACTIVE). */
export function retirementOf(v: VersionRecord): RetirementRecord {
  return {
    state: 'ACTIVE',
    activeSince: null,
    warnedAt: null,
    retiredAt: null,
    reason: '',
    artifactDeleteAfter: null,
    artifactDeletedAt: null,
    ...v.retirement,
  };
}

function withRetirement(v: VersionRecord, retirement: RetirementRecord): VersionRecord {
  return { ...v, retirement };
}
