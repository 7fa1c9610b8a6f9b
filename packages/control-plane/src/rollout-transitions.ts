import {
  assignSlots,
  resolveSlots,
  type RolloutFigures,
  type RolloutRecord,
  type RolloutState,
  type RouteRecord,
  type RouteSplit,
} from '@switchyard/core';
import type { StepFigures, VersionFigures } from './rollout-gates.js';
import { endSplits, stepSplits } from './rollout-plan.js';

/** A new route to write, with the audit action that records it. */
export interface RouteChange {
  route: RouteRecord;
  /** History action, e.g. RolloutStep. */
  action: string;
}

/** Who changes the route and when (RFC 3339). */
export interface ChangeContext {
  at: string;
  actor: string;
}

/**
 * Step `toIndex` applied: its weights in the splits, the step clock
 * restarted, the previous step's figures kept; the last step ends the
 * rollout SUCCEEDED with only the new version left of the two.
 */
export function advanceTo(route: RouteRecord, rollout: RolloutRecord, toIndex: number, figures: StepFigures | null, ctx: ChangeContext): RouteChange {
  const last = toIndex >= rollout.steps.length - 1;
  const lastFigures = figures ? storedFigures(figures) : rollout.lastFigures;
  if (last) {
    const reason = `all ${rollout.steps.length} steps passed their gates; ${rollout.to} serves the traffic ${rollout.from} had`;
    const final = { ...rollout, stepIndex: rollout.steps.length - 1, stepStartedAt: ctx.at, lastFigures };
    return end(route, final, 'SUCCEEDED', reason, rollout.to, ctx, 'RolloutSucceeded');
  }
  const percent = rollout.steps[toIndex]!;
  const next: RolloutRecord = {
    ...rollout,
    state: 'PROGRESSING',
    stepIndex: toIndex,
    stepStartedAt: ctx.at,
    lastFigures,
    reason: toIndex === 0 ? `first step: ${percent}% to ${rollout.to}` : `step ${toIndex} passed its gates; now ${percent}% to ${rollout.to}`,
    updatedAt: ctx.at,
  };
  return { route: withSplits(route, stepSplits(route.splits, rollout.from, rollout.to, percent), next, ctx), action: 'RolloutStep' };
}

/** A failed gate: 100% back on the old version at once, with the failing figures. */
export function rollBack(route: RouteRecord, rollout: RolloutRecord, reason: string, figures: StepFigures | null, ctx: ChangeContext): RouteChange {
  const withFigures = { ...rollout, lastFigures: figures ? storedFigures(figures) : rollout.lastFigures };
  return end(route, withFigures, 'ROLLED_BACK', reason, rollout.from, ctx, 'RolloutRollback');
}

/** An admin's abort: 100% on the old version. */
export function abort(route: RouteRecord, rollout: RolloutRecord, reason: string, ctx: ChangeContext): RouteChange {
  return end(route, rollout, 'ABORTED', reason || `aborted by ${ctx.actor}`, rollout.from, ctx, 'RolloutAbort');
}

/** An admin's promote: 100% on the new version now. */
export function promote(route: RouteRecord, rollout: RolloutRecord, reason: string, ctx: ChangeContext): RouteChange {
  return end(route, rollout, 'SUCCEEDED', reason || `promoted by ${ctx.actor}`, rollout.to, ctx, 'RolloutPromote');
}

/** Holds the rollout; the weights stay. */
export function pause(route: RouteRecord, rollout: RolloutRecord, reason: string, ctx: ChangeContext): RouteChange {
  const next: RolloutRecord = { ...rollout, state: 'PAUSED', reason: reason || `paused by ${ctx.actor}`, updatedAt: ctx.at };
  return { route: { ...route, rollout: next, updatedAt: ctx.at, updatedBy: ctx.actor }, action: 'RolloutPause' };
}

/** Back to PROGRESSING (PENDING when no step was applied yet); the step's time and requests keep counting from its start. */
export function resume(route: RouteRecord, rollout: RolloutRecord, reason: string, ctx: ChangeContext): RouteChange {
  const state: RolloutState = rollout.stepIndex < 0 ? 'PENDING' : 'PROGRESSING';
  const next: RolloutRecord = { ...rollout, state, reason: reason || `resumed by ${ctx.actor}`, updatedAt: ctx.at };
  return { route: { ...route, rollout: next, updatedAt: ctx.at, updatedBy: ctx.actor }, action: 'RolloutResume' };
}

/** Figures as stored in the rollout record. */
export function storedFigures(figures: StepFigures): { from: RolloutFigures; to: RolloutFigures } {
  return { from: stored(figures.from), to: stored(figures.to) };
}

function stored(f: VersionFigures): RolloutFigures {
  return { version: f.version, requests: f.requests, errors: f.errors, errorRate: f.errorRate, p99Ms: f.p99Ms };
}

function end(
  route: RouteRecord,
  rollout: RolloutRecord,
  state: RolloutState,
  reason: string,
  keep: string,
  ctx: ChangeContext,
  action: string,
): RouteChange {
  const drop = keep === rollout.to ? rollout.from : rollout.to;
  const next: RolloutRecord = { ...rollout, state, reason, updatedAt: ctx.at };
  return { route: withSplits(route, endSplits(route.splits, keep, drop), next, ctx), action };
}

function withSplits(route: RouteRecord, splits: RouteSplit[], rollout: RolloutRecord, ctx: ChangeContext): RouteRecord {
  // Routing keys keep their version except those whose weight moved (route-slots.ts).
  const previous = route.splits.length > 0 ? resolveSlots(route).slots : undefined;
  return { ...route, splits, slots: assignSlots(previous, splits), rollout, updatedAt: ctx.at, updatedBy: ctx.actor };
}
