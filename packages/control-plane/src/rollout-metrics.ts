import { Counter, Gauge, Registry } from 'prom-client';
import type { RolloutRecord, RolloutState } from '@switchyard/core';
import { ACTIVE_ROLLOUT_STATES } from './rollout-decision.js';

/**
 * The rollout metrics of one control plane, on their own registry so several
 * control planes can run in one process (tests):
 *
 * - `switchyard_rollout_transitions_total{model, state}`: rollout state
 *   changes this control plane committed (its compare-and-swap applied), by
 *   the state entered; a start counts as PENDING. Summed over replicas, each
 *   transition is counted exactly once.
 * - `switchyard_rollout_steps_total{model}`: steps applied within
 *   PROGRESSING (the state stays the same, so they are not transitions).
 * - `switchyard_rollouts_active{state}`: rollouts in PENDING, PROGRESSING and
 *   PAUSED, as the leader's controller last read them; 0 on a replica that
 *   does not lead, so a sum over replicas is the cluster's count.
 */
export class RolloutMetrics {
  readonly registry: Registry;
  readonly #transitions: Counter<'model' | 'state'>;
  readonly #steps: Counter<'model'>;
  readonly #active: Gauge<'state'>;

  constructor(registry: Registry = new Registry()) {
    this.registry = registry;
    this.#transitions = new Counter({
      name: 'switchyard_rollout_transitions_total',
      help: 'Rollout state changes committed by this control plane, by model and the state entered (PENDING when started, PROGRESSING, PAUSED, SUCCEEDED, ROLLED_BACK, ABORTED).',
      labelNames: ['model', 'state'],
      registers: [registry],
    });
    this.#steps = new Counter({
      name: 'switchyard_rollout_steps_total',
      help: 'Rollout steps applied by this control plane while PROGRESSING (the first step is a transition to PROGRESSING instead).',
      labelNames: ['model'],
      registers: [registry],
    });
    this.#active = new Gauge({
      name: 'switchyard_rollouts_active',
      help: 'Rollouts not ended yet, by state, as the leading control plane last read them (0 on replicas that do not lead).',
      labelNames: ['state'],
      registers: [registry],
    });
    this.clearActive();
  }

  /** Counts a route change that was committed: a transition when the rollout is new or its state changed, else a step when its step moved. */
  recordCommitted(model: string, before: RolloutRecord | null | undefined, after: RolloutRecord | null | undefined): void {
    if (!after) return;
    if (!before || before.id !== after.id || before.state !== after.state) this.#transitions.inc({ model, state: after.state });
    else if (before.stepIndex !== after.stepIndex) this.#steps.inc({ model });
  }

  /** Sets the active gauge from the states of every stored rollout (ended ones are ignored). */
  setActive(states: Iterable<RolloutState>): void {
    const counts = new Map<RolloutState, number>([...ACTIVE_ROLLOUT_STATES].map((s) => [s, 0]));
    for (const state of states) if (counts.has(state)) counts.set(state, counts.get(state)! + 1);
    for (const [state, count] of counts) this.#active.set({ state }, count);
  }

  /** Zero for every active state: this replica no longer knows (it does not lead). */
  clearActive(): void {
    this.setActive([]);
  }

  /** The transition count of one model and state (tests). */
  async transitions(model: string, state: RolloutState): Promise<number> {
    return valueOf(await this.#transitions.get(), { model, state });
  }

  /** The step count of one model (tests). */
  async steps(model: string): Promise<number> {
    return valueOf(await this.#steps.get(), { model });
  }

  /** The active gauge of one state (tests). */
  async active(state: RolloutState): Promise<number> {
    return valueOf(await this.#active.get(), { state });
  }
}

function valueOf(metric: { values: { value: number; labels: Record<string, string | number | undefined> }[] }, labels: Record<string, string>): number {
  const found = metric.values.find((v) => Object.entries(labels).every(([k, want]) => v.labels[k] === want));
  return found?.value ?? 0;
}
