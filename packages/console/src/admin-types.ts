// The admin API's messages as the JSON surface returns them (proto field
// names; int64 fields as strings). Only the fields the console reads.

export interface TensorSpec {
  name: string;
  datatype: string;
  shape: string[];
}

export interface Validation {
  state: string;
  reason: string;
  samples: number;
  golden_recorded: boolean;
  max_abs_diff: number;
  validated_at: string;
}

export interface Version {
  model: string;
  version: string;
  artifact_sha256: string;
  artifact_size: string;
  signature: { inputs: TensorSpec[]; outputs: TensorSpec[] } | null;
  created_at: string;
  created_by: string;
  labels: Record<string, string>;
  description: string;
  validation: Validation | null;
  samples_sha256: string;
  last_used_at: string;
  expires_at: string;
  retirement_state: string;
  pinned: boolean;
}

export interface RouteSplit {
  version: string;
  weight: number;
}

export interface Route {
  model: string;
  splits: RouteSplit[];
  updated_at: string;
  revision: string;
}

export interface Model {
  name: string;
  owner: string;
  description: string;
  versions: string[];
  retired_at: string;
  created_at: string;
}

export interface NodeInfo {
  node_id: string;
  address: string;
  build_version: string;
  started_at: string;
  metrics_address: string;
  /** uint64 as strings; '0' budget: a node from before budgets. */
  memory_budget_bytes: string;
  memory_used_bytes: string;
  memory_rss_bytes: string;
  loaded_versions: number;
  evictions: string;
}

export interface VersionCounts {
  total: number;
  ready: number;
  loading: number;
  failed: number;
  unloading: number;
}

export interface ClusterStatus {
  nodes: {
    node: NodeInfo;
    versions: { model: string; state: { version: string; state: string; error: string } }[];
    /** First page only. */
    counts: VersionCounts | null;
  }[];
  control_planes: { id: string; address: string; started_at: string }[];
}

export interface HistoryEntry {
  at: string;
  actor: string;
  action: string;
  model: string;
  version: string;
  before_json: string;
  after_json: string;
}

export interface RolloutFigures {
  version: string;
  requests: string;
  errors: string;
  error_rate: number;
  p99_ms?: number | null;
}

export interface RolloutGates {
  max_error_rate?: number | null;
  max_error_rate_ratio?: number | null;
  max_p99_ratio?: number | null;
  min_shadow_agreement?: number | null;
  min_shadow_requests?: number | null;
  p99_tolerance_ms?: number | null;
}

export interface Rollout {
  model: string;
  id: string;
  from_version: string;
  to_version: string;
  steps: number[];
  step_index: number;
  step_started_at: string;
  min_step_seconds: number;
  min_step_requests: number;
  gates: RolloutGates | null;
  state: string;
  reason: string;
  started_at: string;
  started_by: string;
  updated_at: string;
  last_from: RolloutFigures | null;
  last_to: RolloutFigures | null;
  current_from: RolloutFigures | null;
  current_to: RolloutFigures | null;
  shadow_compared: string;
  shadow_agreed: string;
  waiting_for: string;
}

export interface Shadow {
  version: string;
  fraction: number;
  until: string;
  budget: string;
  tolerance: number;
  added_at: string;
  added_by: string;
  auto: boolean;
}

export interface ShadowList {
  model: string;
  shadows: Shadow[];
  revision: string;
}

export interface ShadowOutputReport {
  name: string;
  elements: string;
  mean_abs_diff: number;
  max_abs_diff: number;
  within_tolerance: number;
  top1_compared: string;
  top1_agreement: number;
}

export interface ShadowPairReport {
  primary: string;
  shadow: string;
  mirrored: string;
  dropped: string;
  failed_error: string;
  failed_timeout: string;
  failed_shape: string;
  compared: string;
  agreed: string;
  agreement: number;
  outputs: ShadowOutputReport[];
  active: boolean;
  latency_p99_ms: number;
}

export interface ShadowReport {
  model: string;
  pairs: ShadowPairReport[];
  shadows: Shadow[];
}

export interface RetirementEntry {
  model: string;
  version: string;
  owner: string;
  state: string;
  action: string;
  reason: string;
  last_used_at: string;
  expires_at: string;
  retire_at: string;
  warned_at: string;
  retired_at: string;
  pinned: boolean;
}
