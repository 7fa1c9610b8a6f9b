/**
 * The rollout messages of the admin API (issue #4), as @grpc/proto-loader
 * decodes them (see admin-types.ts). proto3 `optional` fields are absent
 * when unset, hence the `?`.
 */
import type { Int64 } from './inference-types.js';

/** Gate limits; in a request absent means the default and negative means "not checked". */
export interface RolloutGatesMessage {
  max_error_rate?: number;
  max_error_rate_ratio?: number;
  max_p99_ratio?: number;
  min_shadow_agreement?: number;
  min_shadow_requests?: number;
  p99_tolerance_ms?: number;
}

/** One version's figures over one step, summed over every node. */
export interface RolloutFiguresMessage {
  version: string;
  requests: Int64;
  errors: Int64;
  error_rate: number;
  /** Absent when the version answered nothing in the step. */
  p99_ms?: number;
}

/** A rollout as the API returns it. */
export interface RolloutMessage {
  model: string;
  id: string;
  from_version: string;
  to_version: string;
  steps: number[];
  /** -1 before the first step. */
  step_index: number;
  step_started_at: string;
  min_step_seconds: number;
  min_step_requests: number;
  gates: RolloutGatesMessage | null;
  progress_deadline_seconds: number;
  /** PENDING, PROGRESSING, PAUSED, SUCCEEDED, ROLLED_BACK or ABORTED. */
  state: string;
  reason: string;
  started_at: string;
  started_by: string;
  updated_at: string;
  last_from: RolloutFiguresMessage | null;
  last_to: RolloutFiguresMessage | null;
  current_from: RolloutFiguresMessage | null;
  current_to: RolloutFiguresMessage | null;
  shadow_compared: Int64;
  shadow_agreed: Int64;
  /** What the current step still waits for; empty when nothing. */
  waiting_for: string;
  route_revision: Int64;
}

/** StartRollout's request. */
export interface StartRolloutRequest {
  model: string;
  to_version: string;
  /** Empty: the version with the highest weight now. */
  from_version: string;
  /** Empty: 1, 5, 25, 50, 100. */
  steps: number[];
  min_step_seconds?: number;
  min_step_requests?: number;
  gates: RolloutGatesMessage | null;
  progress_deadline_seconds?: number;
}

/** Pause/Resume/Abort/PromoteRollout's request. */
export interface RolloutActionRequest {
  model: string;
  reason: string;
}
