import { TOTAL_WEIGHT, invalidArgument, type RouteSplit } from '@switchyard/core';

/** The new version's share per step when StartRollout names none. */
export const DEFAULT_ROLLOUT_STEPS: readonly number[] = Object.freeze([1, 5, 25, 50, 100]);
export const DEFAULT_MIN_STEP_SECONDS = 60;
export const DEFAULT_MIN_STEP_REQUESTS = 100;
/** More steps than this is a typo, not a plan. */
export const MAX_ROLLOUT_STEPS = 50;

/**
 * Checks the steps of a StartRollout request: percentages above 0, in
 * hundredths (a route's weights are basis points), strictly increasing, the
 * last one 100. None gives {@link DEFAULT_ROLLOUT_STEPS}.
 * @throws INVALID_ARGUMENT naming the offending step.
 */
export function checkSteps(steps: readonly number[]): number[] {
  if (steps.length === 0) return [...DEFAULT_ROLLOUT_STEPS];
  if (steps.length > MAX_ROLLOUT_STEPS) throw invalidArgument(`a rollout can have at most ${MAX_ROLLOUT_STEPS} steps; this one has ${steps.length}`);
  const listed = steps.join(', ');
  let previous = 0;
  for (const step of steps) {
    if (!Number.isFinite(step) || step <= 0 || step > 100) {
      throw invalidArgument(`step ${step} is not a percentage above 0 and at most 100 (steps: ${listed})`);
    }
    if (Math.abs(step * 100 - Math.round(step * 100)) > 1e-6) {
      throw invalidArgument(`step ${step} is finer than 0.01%, the smallest share a route can give (steps: ${listed})`);
    }
    if (step <= previous) throw invalidArgument(`steps must increase; ${step} follows ${previous} (steps: ${listed})`);
    previous = step;
  }
  if (previous !== 100) throw invalidArgument(`the last step must be 100 so the rollout ends on the new version; got ${listed}`);
  return [...steps];
}

/**
 * The splits with `percent` % of the traffic `from` and `to` share between
 * them on `to`. Other versions in the route keep their weights: a rollout
 * moves only its two versions' share. Both stay in the splits (a weight-0
 * `to` makes nodes load it before its first step); see {@link endSplits}.
 */
export function stepSplits(splits: readonly RouteSplit[], from: string, to: string, percent: number): RouteSplit[] {
  const share = rolloutShare(splits, from, to);
  const toWeight = Math.round((share * percent) / 100);
  const out = splits.map((s) => ({ ...s }));
  setWeight(out, from, share - toWeight);
  setWeight(out, to, toWeight);
  return out;
}

/** All of the two versions' share on `keep`; the other one leaves the route. */
export function endSplits(splits: readonly RouteSplit[], keep: string, drop: string): RouteSplit[] {
  const share = rolloutShare(splits, keep, drop);
  const out = splits.filter((s) => s.version !== drop).map((s) => ({ ...s }));
  setWeight(out, keep, share);
  return out;
}

/**
 * The weight `from` and `to` hold together. A route that holds neither (only
 * possible if edited by hand) gives them everything other versions leave.
 */
export function rolloutShare(splits: readonly RouteSplit[], from: string, to: string): number {
  const others = splits.filter((s) => s.version !== from && s.version !== to).reduce((sum, s) => sum + s.weight, 0);
  return TOTAL_WEIGHT - others;
}

/** The percentage `to` gets at the start of the rollout's step `index`; 0 before the first. */
export function stepPercent(steps: readonly number[], index: number): number {
  return index < 0 ? 0 : (steps[Math.min(index, steps.length - 1)] ?? 0);
}

function setWeight(splits: RouteSplit[], version: string, weight: number): void {
  const existing = splits.find((s) => s.version === version);
  if (existing) existing.weight = weight;
  else splits.push({ version, weight });
}
