import type { RolloutRecord, RolloutState } from '@switchyard/core';
import { evaluateGates, percent, shadowFailure, type ShadowFigures, type StepFigures } from './rollout-gates.js';

/** States in which a rollout owns its route's weights. */
export const ACTIVE_ROLLOUT_STATES: ReadonlySet<RolloutState> = new Set(['PENDING', 'PROGRESSING', 'PAUSED']);

/** Whether the rollout still owns its route (not ended). */
export function isActive(rollout: RolloutRecord | null | undefined): boolean {
  return rollout !== null && rollout !== undefined && ACTIVE_ROLLOUT_STATES.has(rollout.state);
}

/** What the controller should do with a rollout now. */
export type RolloutDecision =
  /** Nothing: paused or ended. */
  | { kind: 'idle' }
  /**
   * Keep the current step; `waitingFor` says what for, in words. `onTime`:
   * only for the step's minimum time, which is progress, not a stall.
   */
  | { kind: 'wait'; waitingFor: string; onTime?: true }
  /** Apply step `toIndex` (the last one ends the rollout SUCCEEDED). */
  | { kind: 'advance'; toIndex: number }
  /** A gate failed: back to 100% old, with the figures in `reason`. */
  | { kind: 'rollback'; reason: string };

/**
 * The rollout state machine, as a pure function of the stored rollout, the
 * current step's figures (summed over every node) and the shadow figures:
 *
 * - PENDING (step -1): waits for `minShadowRequests` shadowed requests,
 *   rolls back if their agreement is below `minShadowAgreement`, else
 *   applies step 0.
 * - PROGRESSING at step i: once the new version took `minStepRequests`
 *   requests in the step, every gate is checked on each call and a failure
 *   rolls back at once; errors that already doom the step (more than
 *   maxErrorRate × minStepRequests) roll back before that. The step ends,
 *   and step i+1 is applied, when the gates pass after `minStepSeconds`.
 *   Applying the last step (100%) ends the rollout SUCCEEDED.
 * - PAUSED and ended rollouts: nothing.
 * - Waiting (PENDING or PROGRESSING) longer than `progressDeadlineSeconds`
 *   after the last transition (start, step, resume) rolls back.
 * - `notPlaced` (issue #16): what the new version still waits for before it
 *   may take weight (its placement, a loaded copy); the first step waits
 *   for it like for shadowed requests, deadline included.
 */
export function decide(rollout: RolloutRecord, step: StepFigures | null, shadow: ShadowFigures | null, nowMs: number, notPlaced?: string): RolloutDecision {
  const decision = decideOnFigures(rollout, step, shadow, nowMs, notPlaced);
  if (decision.kind !== 'wait' || decision.onTime || rollout.progressDeadlineSeconds <= 0) return decision;
  // A rollout that cannot move (a version that never became READY, a model
  // without traffic, nodes that stopped reporting) must not hold its route
  // forever: past the deadline since its last transition it rolls back.
  const sinceMs = nowMs - Date.parse(rollout.updatedAt);
  if (!(sinceMs > rollout.progressDeadlineSeconds * 1000)) return decision;
  return {
    kind: 'rollback',
    reason:
      `no progress for ${formatSeconds(Math.floor(sinceMs / 1000))} at ${rollout.stepIndex < 0 ? 'the start' : `step ${rollout.stepIndex + 1} (${stepLabel(rollout)})`}, ` +
      `more than the progress deadline of ${formatSeconds(rollout.progressDeadlineSeconds)}: still waiting for ${decision.waitingFor}`,
  };
}

/** Whole seconds as "45 s", "10 min 1 s", "30 min", "2 h 5 min" for reasons people read. */
function formatSeconds(seconds: number): string {
  const s = Math.round(seconds);
  if (s < 120) return `${s} s`;
  if (s < 7200) return s % 60 === 0 ? `${s / 60} min` : `${Math.floor(s / 60)} min ${s % 60} s`;
  const minutes = Math.floor(s / 60);
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

function decideOnFigures(rollout: RolloutRecord, step: StepFigures | null, shadow: ShadowFigures | null, nowMs: number, notPlaced: string | undefined): RolloutDecision {
  if (rollout.state === 'PENDING') return decidePending(rollout, shadow, notPlaced);
  if (rollout.state !== 'PROGRESSING') return { kind: 'idle' };
  if (rollout.stepIndex < 0) return decidePending(rollout, shadow, notPlaced);
  if (step === null) return { kind: 'wait', waitingFor: 'the first figures from the nodes' };

  const { to } = step;
  const gates = rollout.gates;
  if (to.requests < rollout.minStepRequests) {
    const maxErrors = gates.maxErrorRate === null ? Infinity : gates.maxErrorRate * rollout.minStepRequests;
    if (to.errors > maxErrors) {
      return {
        kind: 'rollback',
        reason: `${to.version} failed ${to.errors} of its first ${to.requests} requests at step ${rollout.stepIndex + 1}, more than the error-rate limit ${percent(gates.maxErrorRate ?? 1)} allows over ${rollout.minStepRequests} requests`,
      };
    }
    return { kind: 'wait', waitingFor: `${rollout.minStepRequests - to.requests} more requests to ${to.version} (${to.requests} of ${rollout.minStepRequests})` };
  }
  const verdict = evaluateGates(gates, step);
  if (!verdict.pass) return { kind: 'rollback', reason: `step ${rollout.stepIndex + 1} (${stepLabel(rollout)}) failed its gates: ${verdict.failures.join('; ')}` };

  const startedMs = rollout.stepStartedAt === null ? nowMs : Date.parse(rollout.stepStartedAt);
  const remainingMs = rollout.minStepSeconds * 1000 - (nowMs - startedMs);
  if (remainingMs > 0) return { kind: 'wait', waitingFor: `${Math.ceil(remainingMs / 1000)} s more at this step`, onTime: true };
  return { kind: 'advance', toIndex: rollout.stepIndex + 1 };
}

function decidePending(rollout: RolloutRecord, shadow: ShadowFigures | null, notPlaced: string | undefined): RolloutDecision {
  const failed = shadowFailure(rollout.gates, shadow);
  const compared = shadow?.compared ?? 0;
  if (compared < rollout.gates.minShadowRequests) {
    return { kind: 'wait', waitingFor: `${rollout.gates.minShadowRequests - compared} more shadowed requests of ${rollout.to} (${compared} of ${rollout.gates.minShadowRequests})` };
  }
  if (failed !== undefined) return { kind: 'rollback', reason: `before the first step: ${failed}` };
  if (notPlaced !== undefined) return { kind: 'wait', waitingFor: notPlaced };
  return { kind: 'advance', toIndex: 0 };
}

/** `25% to v2` for step `index` (default: the current one). */
export function stepLabel(rollout: RolloutRecord, index = rollout.stepIndex): string {
  return index < 0 ? `0% to ${rollout.to}` : `${rollout.steps[index]}% to ${rollout.to}`;
}
