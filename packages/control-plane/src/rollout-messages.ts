import type {
  RolloutFigures,
  RolloutFiguresMessage,
  RolloutGates,
  RolloutGatesMessage,
  RolloutMessage,
  RolloutRecord,
} from '@switchyard/core';
import { DEFAULT_P99_TOLERANCE_MS, type ShadowFigures, type VersionFigures } from './rollout-gates.js';

/** Live figures GetRollout adds to the stored record. */
export interface LiveRolloutFigures {
  from: VersionFigures;
  to: VersionFigures;
}

/** The API's view of a stored rollout, with live figures of the current step when given. */
export function rolloutToMessage(
  model: string,
  rollout: RolloutRecord,
  routeRevision: string,
  live: { figures?: LiveRolloutFigures | null; shadow?: ShadowFigures | null; waitingFor?: string } = {},
): RolloutMessage {
  return {
    model,
    id: rollout.id,
    from_version: rollout.from,
    to_version: rollout.to,
    steps: [...rollout.steps],
    step_index: rollout.stepIndex,
    step_started_at: rollout.stepStartedAt ?? '',
    min_step_seconds: rollout.minStepSeconds,
    min_step_requests: rollout.minStepRequests,
    gates: gatesToMessage(rollout.gates),
    state: rollout.state,
    reason: rollout.reason,
    started_at: rollout.startedAt,
    started_by: rollout.startedBy,
    updated_at: rollout.updatedAt,
    last_from: rollout.lastFigures ? figuresToMessage(rollout.lastFigures.from, rollout.from) : null,
    last_to: rollout.lastFigures ? figuresToMessage(rollout.lastFigures.to, rollout.to) : null,
    current_from: live.figures ? figuresToMessage(live.figures.from, rollout.from) : null,
    current_to: live.figures ? figuresToMessage(live.figures.to, rollout.to) : null,
    shadow_compared: String(live.shadow?.compared ?? 0),
    shadow_agreed: String(live.shadow?.agreed ?? 0),
    waiting_for: live.waitingFor ?? '',
    route_revision: routeRevision,
    progress_deadline_seconds: rollout.progressDeadlineSeconds,
  };
}

function gatesToMessage(gates: RolloutGates): RolloutGatesMessage {
  const out: RolloutGatesMessage = { min_shadow_requests: gates.minShadowRequests, p99_tolerance_ms: gates.p99ToleranceMs ?? DEFAULT_P99_TOLERANCE_MS };
  if (gates.maxErrorRate !== null) out.max_error_rate = gates.maxErrorRate;
  if (gates.maxErrorRateRatio !== null) out.max_error_rate_ratio = gates.maxErrorRateRatio;
  if (gates.maxP99Ratio !== null) out.max_p99_ratio = gates.maxP99Ratio;
  if (gates.minShadowAgreement !== null) out.min_shadow_agreement = gates.minShadowAgreement;
  return out;
}

function figuresToMessage(f: RolloutFigures | VersionFigures, version: string): RolloutFiguresMessage {
  const out: RolloutFiguresMessage = {
    version: typeof f.version === 'string' ? f.version : version,
    requests: String(f.requests),
    errors: String(f.errors),
    error_rate: f.errorRate,
  };
  if (f.p99Ms !== null) out.p99_ms = f.p99Ms;
  return out;
}
