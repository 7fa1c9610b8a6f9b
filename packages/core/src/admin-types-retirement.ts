/**
 * The auto-retirement messages of switchyard.admin.v1 (issue #6), as
 * @grpc/proto-loader decodes them (keepCase, longs as strings, defaults on).
 */
import type { Int64 } from './inference-types.js';

/** What the sweeper would do to a version now, in a RetirementPlan. */
export const RETIREMENT_ACTIONS = ['WARN', 'CLEAR', 'RETIRE', 'COLLECT', 'KEEP'] as const;
export type RetirementAction = (typeof RETIREMENT_ACTIONS)[number];

/** One version's place in auto-retirement; times are RFC 3339, empty when unknown. */
export interface RetirementEntryMessage {
  model: string;
  version: string;
  owner: string;
  /** ACTIVE, WARNED or RETIRED, as stored now. */
  state: string;
  /** In a plan: one of {@link RETIREMENT_ACTIONS}; empty in listings. */
  action: string;
  reason: string;
  last_used_at: string;
  expires_at: string;
  retire_at: string;
  warned_at: string;
  retired_at: string;
  artifact_delete_after: string;
  artifact_deleted_at: string;
  pinned: boolean;
  expires_after_seconds: Int64;
}

/** RetirementPlan's and ListRetirements' request; an empty model means every model. */
export interface RetirementScopeRequest {
  model: string;
  /** 0 means 1000; at most 1000. A page also ends early past 1 MiB. */
  page_size?: number;
  /** next_page_token of the previous page; empty for the first page. */
  page_token?: string;
}

export interface RetirementPlanResponse {
  now: string;
  entries: RetirementEntryMessage[];
  /** Empty on the last page. */
  next_page_token: string;
}

export interface ListRetirementsResponse {
  entries: RetirementEntryMessage[];
  /** Empty on the last page. */
  next_page_token: string;
}

/** Retire's request; an empty version retires the whole model. */
export interface RetireRequest {
  model: string;
  version: string;
}

export interface RetireResponse {
  retired: RetirementEntryMessage[];
  model_retired: boolean;
}

export interface UnretireRequest {
  model: string;
  version: string;
}

export interface PinVersionRequest {
  model: string;
  version: string;
  /** false unpins. */
  pinned: boolean;
}
