import type { Clock, KeyLayout, Logger, RolloutRecord, RolloutState, RouteRecord } from '@switchyard/core';
import type { EtcdClient } from './etcd-client.js';
import type { Leadership } from './leader-election.js';
import { LeaderLoop, WakingWatches } from './leader-loop.js';
import { decide, isActive, stepLabel } from './rollout-decision.js';
import type { RolloutFiguresReader } from './rollout-figures.js';
import { RolloutMetrics } from './rollout-metrics.js';
import { writeRouteChange } from './rollout-route-writer.js';
import { advanceTo, rollBack, type RouteChange } from './rollout-transitions.js';
import type { TargetStateStore } from './target-state-store.js';

/** The audit-log actor of every change the controller makes. */
export const ROLLOUT_CONTROLLER_ACTOR = 'rollout-controller';

/** Options for {@link RolloutController}. */
export interface RolloutControllerOptions {
  /** Not read: `state` holds the client and key layout. Accepted for callers that still pass them. */
  etcd?: EtcdClient;
  /** Not read, as `etcd`. */
  keys?: KeyLayout;
  /** Routes are read, watched and written through its tables. */
  state: TargetStateStore;
  figures: RolloutFiguresReader;
  leadership: Leadership;
  clock: Clock;
  logger: Logger;
  /** Time between passes over the active rollouts. @default 1000 */
  tickMs?: number;
  /**
   * How long after a rollout ended its figures are still checked for (and
   * deleted): a node may publish once more after the end. @default 30000
   */
  cleanupGraceMs?: number;
  /** Where committed transitions and the active rollouts are counted. @default its own, unserved */
  metrics?: RolloutMetrics;
  /**
   * What a rollout's new version still waits for before the first step
   * (its placement and a loaded copy: rollout-placement.ts), or undefined
   * when it may take weight. The control plane passes it; without it the
   * first step does not wait.
   */
  notPlaced?: (model: string, version: string) => Promise<string | undefined>;
}

/** What the controller did since it was created (tests and diagnostics). */
export interface RolloutControllerCounts {
  passes: number;
  steps: number;
  succeeded: number;
  rolledBack: number;
  /** Writes that lost the compare-and-swap (someone else changed the route first). */
  conflicts: number;
}

/**
 * Drives every model's active rollout while this replica leads: each pass
 * (every `tickMs`, and at once when a route changes) reads the routes, sums
 * the nodes' figures of each rollout's current step, runs the state machine
 * (rollout-decision.ts) and applies what it decides as a compare-and-swap on
 * the route's revision, so a replica that lost leadership or raced an admin
 * never applies a stale decision. All state lives in the route record: a new
 * leader continues from the stored step.
 */
export class RolloutController {
  readonly counts: RolloutControllerCounts = { passes: 0, steps: 0, succeeded: 0, rolledBack: 0, conflicts: 0 };
  readonly #o: Required<Omit<RolloutControllerOptions, 'etcd' | 'keys' | 'notPlaced'>> & Pick<RolloutControllerOptions, 'notPlaced'>;
  readonly #log: Logger;
  readonly #loop: LeaderLoop;
  /** Ended rollouts whose figures are known to be gone, so they are not checked again. */
  readonly #cleaned = new Set<string>();

  constructor(options: RolloutControllerOptions) {
    this.#o = { tickMs: 1000, cleanupGraceMs: 30_000, metrics: new RolloutMetrics(), ...options };
    this.#log = options.logger.child({ component: 'rollout-controller' });
    // A watch on the routes wakes the loop as soon as an admin starts, pauses or resumes a rollout.
    const routesWatch = new WakingWatches(() => [this.#o.state.tables.routes.watch()], () => this.#loop.wake(), this.#log);
    this.#loop = new LeaderLoop({
      leadership: options.leadership,
      pass: () => this.pass(),
      intervalMs: this.#o.tickMs,
      sleep: (ms) => this.#o.clock.sleep(ms),
      held: [routesWatch],
      logger: this.#log,
      failureMessage: 'rollout pass failed; trying again',
      whileFollowing: () => this.#o.metrics.clearActive(),
    });
  }

  start(): void {
    this.#loop.start();
  }

  /** Stops acting; waits for a pass in progress, but not longer than `timeoutMs` (etcd may be down). */
  async stop(timeoutMs = 2000): Promise<void> {
    if (this.#loop.stopped) return;
    await this.#loop.stop(timeoutMs);
    this.#o.metrics.clearActive();
  }

  /** One pass now (tests); resolves when it is done. */
  async pass(): Promise<void> {
    if (!this.#o.leadership.isLeader) {
      this.#o.metrics.clearActive();
      return;
    }
    this.counts.passes++;
    const routes = await this.#readRoutes();
    // Each rollout's state after this pass, for the active gauge.
    const states: RolloutState[] = [];
    for (const { route, revision } of routes) {
      if (!this.#o.leadership.isLeader || this.#loop.stopped) return;
      const rollout = route.rollout;
      if (!rollout) continue;
      states.push(rollout.state);
      try {
        if (isActive(rollout)) states[states.length - 1] = await this.#drive(route, rollout, revision);
        else await this.#cleanUp(route.model, rollout);
      } catch (err) {
        this.#log.warn('could not act on a rollout; trying again next pass', { model: route.model, rollout: rollout.id, error: (err as Error).message });
      }
    }
    this.#o.metrics.setActive(states);
  }

  /** Applies what the state machine decides; resolves the rollout's state afterwards. */
  async #drive(route: RouteRecord, rollout: RolloutRecord, revision: string): Promise<RolloutState> {
    if (rollout.state === 'PAUSED') return rollout.state;
    const model = route.model;
    const figures = await this.#o.figures.current(model, rollout);
    const shadow = figures ? figures.shadow : await this.#pendingShadow(model, rollout);
    const notPlaced = rollout.stepIndex < 0 ? await this.#o.notPlaced?.(model, rollout.to) : undefined;
    const decision = decide(rollout, figures, shadow, this.#o.clock.now(), notPlaced);
    if (decision.kind === 'idle' || decision.kind === 'wait') return rollout.state;

    const ctx = { at: new Date(this.#o.clock.now()).toISOString(), actor: ROLLOUT_CONTROLLER_ACTOR };
    const change = decision.kind === 'advance' ? advanceTo(route, rollout, decision.toIndex, figures, ctx) : rollBack(route, rollout, decision.reason, figures, ctx);
    // Leadership may have ended while the figures were read; the CAS below covers the rest of the race.
    if (!this.#o.leadership.isLeader || this.#loop.stopped) return rollout.state;
    const outcome = await writeRouteChange(this.#o.state, route, revision, change, this.#o.metrics);
    if (outcome.status === 'version-retired') {
      this.#log.warn('a version of a rollout is retired, so its steps cannot be applied; abort the rollout or unretire the version', { model, rollout: rollout.id, version: outcome.version });
      return rollout.state;
    }
    if (outcome.status !== 'written') {
      this.counts.conflicts++;
      this.#log.info('the route changed before a rollout step could be written; re-reading it', { model, rollout: rollout.id, outcome: outcome.status });
      return rollout.state;
    }
    this.#record(model, change, figures !== null);
    if (!isActive(change.route.rollout)) await this.#deleteFigures(model, rollout.id);
    return change.route.rollout!.state;
  }

  async #pendingShadow(model: string, rollout: RolloutRecord) {
    const needed = rollout.gates.minShadowRequests > 0 || rollout.gates.minShadowAgreement !== null;
    return needed ? this.#o.figures.shadow(model, rollout.from, rollout.to) : null;
  }

  #record(model: string, change: RouteChange, hadFigures: boolean): void {
    const after = change.route.rollout!;
    const fields = {
      model,
      rollout: after.id,
      from: after.from,
      to: after.to,
      state: after.state,
      step: after.stepIndex,
      splits: change.route.splits.map((s) => `${s.version}=${s.weight}`).join(','),
      reason: after.reason,
      ...(hadFigures && after.lastFigures ? { figures: after.lastFigures } : {}),
    };
    if (after.state === 'ROLLED_BACK') {
      this.counts.rolledBack++;
      this.#log.warn('rollout rolled back', fields);
    } else if (after.state === 'SUCCEEDED') {
      this.counts.succeeded++;
      this.#log.info('rollout succeeded', fields);
    } else {
      this.counts.steps++;
      this.#log.info(`rollout step applied: ${stepLabel(after)}`, fields);
    }
  }

  async #cleanUp(model: string, rollout: RolloutRecord): Promise<void> {
    if (this.#cleaned.has(rollout.id)) return;
    const count = await this.#o.figures.countStats(model, rollout.id);
    if (count > 0) await this.#deleteFigures(model, rollout.id);
    else if (this.#o.clock.now() - Date.parse(rollout.updatedAt) > this.#o.cleanupGraceMs) this.#cleaned.add(rollout.id);
  }

  async #deleteFigures(model: string, rolloutId: string): Promise<void> {
    try {
      await this.#o.figures.deleteStats(model, rolloutId);
    } catch (err) {
      this.#log.warn("could not delete an ended rollout's figures; trying again next pass", { model, rollout: rolloutId, error: (err as Error).message });
    }
  }

  async #readRoutes(): Promise<{ route: RouteRecord; revision: string }[]> {
    // Invalid routes are reported by the admin API and the nodes; the controller leaves them alone.
    const routes = await this.#o.state.tables.routes.listValid({ quiet: true });
    return routes.map((stored) => ({ route: stored.value, revision: stored.modRevision }));
  }
}
