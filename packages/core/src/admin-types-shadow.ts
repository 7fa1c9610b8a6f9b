/**
 * The shadow messages of switchyard.admin.v1 (issue #5), as
 * @grpc/proto-loader decodes them (see admin-types.ts). Counts are uint64,
 * so they arrive as strings; servers may send numbers.
 */
import type { Int64 } from './inference-types.js';

/** A shadow of a route. */
export interface ShadowMessage {
  version: string;
  /** (0, 1]. */
  fraction: number;
  /** RFC 3339; empty: no end. */
  until: string;
  /** 0: no budget. */
  budget: Int64;
  tolerance: number;
  added_at: string;
  added_by: string;
  auto: boolean;
}

export interface AddShadowRequest {
  model: string;
  version: string;
  fraction: number;
  /** RFC 3339; at most one of until and duration_seconds. */
  until: string;
  duration_seconds: Int64;
  /** 0: no budget. */
  budget: Int64;
  /** Absent: 1e-5. */
  tolerance?: number | null;
  auto: boolean;
  /** 0: unconditional. */
  expected_revision: Int64;
}

export interface RemoveShadowRequest {
  model: string;
  version: string;
  expected_revision: Int64;
}

/** A route's shadows and the route's revision. */
export interface ShadowListMessage {
  model: string;
  shadows: ShadowMessage[];
  revision: Int64;
}

export interface ShadowOutputReportMessage {
  name: string;
  elements: Int64;
  mean_abs_diff: number;
  max_abs_diff: number;
  /** Share (0–1) of elements within tolerance. */
  within_tolerance: number;
  top1_compared: Int64;
  /** Share (0–1). */
  top1_agreement: number;
}

/** One shadow against one primary version, summed over every node. */
export interface ShadowPairReportMessage {
  primary: string;
  shadow: string;
  mirrored: Int64;
  dropped: Int64;
  failed_error: Int64;
  failed_timeout: Int64;
  failed_shape: Int64;
  compared: Int64;
  agreed: Int64;
  /** agreed / compared; 0 when nothing was compared. */
  agreement: number;
  outputs: ShadowOutputReportMessage[];
  reporters: number;
  /** Still a shadow of the route. */
  active: boolean;
  latency_p50_ms: number;
  latency_p99_ms: number;
}

export interface ShadowReportMessage {
  model: string;
  pairs: ShadowPairReportMessage[];
  shadows: ShadowMessage[];
}
