import { RolloutGatesSchema, invalidArgument, type RolloutGates, type RolloutGatesMessage } from '@switchyard/core';
import { DEFAULT_P99_TOLERANCE_MS } from './rollout-gates.js';
import { DEFAULT_MIN_STEP_REQUESTS, DEFAULT_MIN_STEP_SECONDS } from './rollout-plan.js';

/** A week: a longer step is a unit mistake (minutes for seconds). */
const MAX_STEP_SECONDS = 7 * 24 * 3600;

/**
 * The gates of a StartRollout request: an absent limit takes its default,
 * a negative one is not checked (min_shadow_requests and p99_tolerance_ms
 * cannot be turned off, only set to 0).
 * @throws INVALID_ARGUMENT naming the field.
 */
export function checkGates(message: RolloutGatesMessage | null | undefined): RolloutGates {
  const defaults = RolloutGatesSchema.parse({});
  const m = message ?? {};
  const limit = (field: keyof RolloutGatesMessage, fallback: number | null, max: number, rule: string): number | null => {
    const value = m[field];
    if (value === undefined || value === null) return fallback;
    if (!Number.isFinite(value)) throw invalidArgument(`gate ${field} is ${value}; ${rule}`);
    if (value < 0) return null;
    if (value > max) throw invalidArgument(`gate ${field} is ${value}; ${rule}`);
    return value;
  };
  const positive = (field: keyof RolloutGatesMessage, fallback: number | null): number | null => {
    const value = limit(field, fallback, Number.MAX_VALUE, 'give a ratio above 0, or a negative number to turn the gate off');
    if (value === 0) throw invalidArgument(`gate ${field} is 0, which no version can meet; give a ratio above 0, or a negative number to turn the gate off`);
    return value;
  };
  const shadowRequests = m.min_shadow_requests ?? defaults.minShadowRequests;
  if (!Number.isSafeInteger(shadowRequests) || shadowRequests < 0) throw invalidArgument(`gate min_shadow_requests is ${shadowRequests}; give a whole number of requests, 0 for none`);
  const tolerance = m.p99_tolerance_ms ?? DEFAULT_P99_TOLERANCE_MS;
  if (!Number.isFinite(tolerance) || tolerance < 0) throw invalidArgument(`gate p99_tolerance_ms is ${tolerance}; give milliseconds, 0 or more`);
  return {
    maxErrorRate: limit('max_error_rate', defaults.maxErrorRate, 1, 'give a share from 0 to 1 (0.01 = 1%), or a negative number to turn the gate off'),
    maxErrorRateRatio: positive('max_error_rate_ratio', defaults.maxErrorRateRatio),
    maxP99Ratio: positive('max_p99_ratio', defaults.maxP99Ratio),
    minShadowAgreement: limit('min_shadow_agreement', defaults.minShadowAgreement, 1, 'give a share from 0 to 1 (0.99 = 99%), or a negative number to turn the gate off'),
    minShadowRequests: shadowRequests,
    p99ToleranceMs: tolerance,
  };
}

/** min_step_seconds: absent takes the default; 0 to a week. @throws INVALID_ARGUMENT */
export function checkMinStepSeconds(value: number | undefined | null): number {
  if (value === undefined || value === null) return DEFAULT_MIN_STEP_SECONDS;
  if (!Number.isFinite(value) || value < 0 || value > MAX_STEP_SECONDS) {
    throw invalidArgument(`min_step_seconds is ${value}; give seconds from 0 to ${MAX_STEP_SECONDS} (a week)`);
  }
  return value;
}

/** Default progress deadline: a rollout stuck this long after its last transition rolls back. */
export const DEFAULT_PROGRESS_DEADLINE_SECONDS = 1800;

/** progress_deadline_seconds: absent takes the default; 0 turns it off; at most a week. @throws INVALID_ARGUMENT */
export function checkProgressDeadline(value: number | undefined | null): number {
  if (value === undefined || value === null) return DEFAULT_PROGRESS_DEADLINE_SECONDS;
  if (!Number.isFinite(value) || value < 0 || value > MAX_STEP_SECONDS) {
    throw invalidArgument(`progress_deadline_seconds is ${value}; give seconds from 0 (never) to ${MAX_STEP_SECONDS} (a week)`);
  }
  return value;
}

/** min_step_requests: absent takes the default. @throws INVALID_ARGUMENT */
export function checkMinStepRequests(value: number | undefined | null): number {
  if (value === undefined || value === null) return DEFAULT_MIN_STEP_REQUESTS;
  if (!Number.isSafeInteger(value) || value < 0) throw invalidArgument(`min_step_requests is ${value}; give a whole number of requests, 0 or more`);
  return value;
}
