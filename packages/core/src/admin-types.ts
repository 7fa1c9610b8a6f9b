/**
 * The switchyard.admin.v1 messages (proto/switchyard/admin/v1/admin.proto) as
 * @grpc/proto-loader decodes them: keepCase, longs as strings, defaults on,
 * oneofs named. Written by hand, like inference-types.ts: the API is small
 * and a generator would be one more build step. Shared by the control plane
 * (server) and the CLI (client); the conversions from stored records stay in
 * the control plane.
 */
import type { Int64 } from './inference-types.js';

/** The first message of an upload. */
export interface UploadArtifactHeader {
  sha256: string;
  size: Int64;
  filename: string;
}

/** One message of the UploadArtifact client stream. */
export interface UploadArtifactRequest {
  header?: UploadArtifactHeader | null;
  chunk?: Uint8Array;
  /** Which member of the `part` oneof is set. */
  part?: 'header' | 'chunk';
}

/** What UploadArtifact stored. */
export interface UploadArtifactResponse {
  sha256: string;
  size: Int64;
  existed: boolean;
}

/** A tensor of a signature; -1 marks a variable-size dimension. */
export interface TensorSpecMessage {
  name: string;
  datatype: string;
  shape: Int64[];
}

/** A model version's inputs and outputs. */
export interface SignatureMessage {
  inputs: TensorSpecMessage[];
  outputs: TensorSpecMessage[];
}

/** The result of deploy-time validation; only PASSED versions can be routed. */
export interface ValidationMessage {
  /** PASSED or REJECTED. */
  state: string;
  /** Why it was rejected: which sample, which output, expected vs got. */
  reason: string;
  /** Samples run; 0 when the version has none. */
  samples: number;
  /** True when the outputs computed at validation were recorded as the golden set. */
  golden_recorded: boolean;
  max_abs_diff: number;
  duration_ms: number;
  validated_at: string;
}

/** A model version as the API returns it. */
export interface VersionMessage {
  model: string;
  version: string;
  artifact_sha256: string;
  artifact_size: Int64;
  signature: SignatureMessage;
  created_at: string;
  created_by: string;
  labels: Record<string, string>;
  description: string;
  /** 0: the model's default expiration applies. */
  expires_after_seconds: Int64;
  /** Null for versions created before deploy-time validation existed. */
  validation: ValidationMessage | null;
  /** sha256 of the stored samples document; empty when the version has none. */
  samples_sha256: string;
  /** Last use over every node, primary or shadow (issue #6); empty when none reported. */
  last_used_at?: string;
  /** When it expires if unused until then; empty when pinned or retired. */
  expires_at?: string;
  /** ACTIVE, WARNED or RETIRED. */
  retirement_state?: string;
  pinned?: boolean;
  /** The version's own runtime settings (issue #17); null when it has none. */
  runtime?: RuntimeSettingsMessage | null;
  /** The settings in force: the version's, else the model's, else the defaults. */
  effective_runtime?: RuntimeSettingsMessage | null;
  /** Memory one loaded copy takes: the largest any live node measured; '0' when none has (issue #16). */
  memory_bytes?: Int64;
}

/** Runtime settings as the admin API carries them (runtime-settings.ts); absent fields take the next level's. */
export interface RuntimeSettingsMessage {
  max_batch_size?: number | null;
  max_batch_delay_ms?: number | null;
  preferred_batch_sizes?: number[];
  instances?: number | null;
  intra_op_threads?: number | null;
  queue_size?: number | null;
  queue_timeout_ms?: number | null;
  warmup?: string | null;
  run_timeout_ms?: number | null;
}

/** CreateVersion's request; an empty version asks for the next free vN. */
export interface CreateVersionRequest {
  model: string;
  artifact_sha256: string;
  version: string;
  labels: Record<string, string>;
  description: string;
  /** UTF-8 JSON samples document (docs/samples.md); empty for none. */
  samples_json: Uint8Array;
  /** 0: the model's default applies. */
  expires_after_seconds: Int64;
  /** The version's runtime settings (issue #17); absent: the model's. */
  runtime?: RuntimeSettingsMessage | null;
}

/** GetVersion's and DeleteVersion's request. */
export interface VersionRef {
  model: string;
  version: string;
}

/** The request of the RPCs that name only a model by its `model` field. */
export interface ModelRef {
  model: string;
}

/** ListVersions' request: one page of a model's versions. */
export interface ListVersionsRequest {
  model: string;
  /** 0 means 1000; at most 1000. A page also ends early past 1 MiB. */
  page_size: number;
  /** next_page_token of the previous page; empty for the first page. */
  page_token: string;
}

/** One page of ListVersions' answer, v2 before v10 (across pages too). */
export interface ListVersionsResponse {
  versions: VersionMessage[];
  /** Empty on the last page. */
  next_page_token: string;
}

/** A version's share of a model's traffic, in basis points. */
export interface RouteSplitMessage {
  version: string;
  weight: number;
}

/** A model's route as the API returns it, with the revision to pass back as expected_revision. */
export interface RouteMessage {
  model: string;
  splits: RouteSplitMessage[];
  updated_at: string;
  revision: Int64;
}

/** SetRoute's request; expected_revision 0 means "whatever is current". */
export interface SetRouteRequest {
  model: string;
  splits: RouteSplitMessage[];
  expected_revision: Int64;
}

/** One node's state of one version. */
export interface VersionStateMessage {
  version: string;
  state: string;
  error: string;
  updated_at: string;
  load_ms: number;
  /** Memory the loaded copy takes on this node; '0': not measured (issue #16). */
  memory_bytes?: Int64;
}

/** One live node's states of a model's versions. */
export interface NodeModelStatusMessage {
  node_id: string;
  address: string;
  build_version: string;
  versions: VersionStateMessage[];
}

/** GetModelStatus' response; route is null when the model has none. */
export interface ModelStatusMessage {
  model: string;
  route: RouteMessage | null;
  nodes: NodeModelStatusMessage[];
  /** Where each routed version is kept loaded (issue #16). */
  placements?: PlacementMessage[];
}

/** How many loaded copies a model's versions get (docs/placement.md). */
export interface PlacementSettingsMessage {
  /** 0: loaded only on request. */
  min_copies: number;
  /** 0: one per node. */
  max_copies: number;
  always_resident: boolean;
}

/** Where one version is kept loaded (etcd: target/placements/{model}/{version}). */
export interface PlacementMessage {
  version: string;
  copies: { node_id: string; since: string }[];
  wanted_copies: number;
  estimated_bytes: Int64;
  /** Why fewer copies than wanted are placed; '' when all are. */
  reason: string;
  updated_at: string;
}

/** A model as the API returns it. */
export interface ModelMessage {
  name: string;
  owner: string;
  description: string;
  /** 0: the cluster default applies. */
  default_expires_after_seconds: Int64;
  created_at: string;
  updated_at: string;
  /** etcd mod revision of the model key; pass it back as UpdateModel's expected_revision. */
  revision: Int64;
  /** Version names, v2 before v10. */
  versions: string[];
  /** When its last weighted version was retired (issue #6); empty when not retired. */
  retired_at?: string;
  /** Default runtime settings of its versions (issue #17); null when none. */
  runtime?: RuntimeSettingsMessage | null;
  /** How many loaded copies its versions get (issue #16); null from a control plane without placement. */
  placement?: PlacementSettingsMessage | null;
}

/** CreateModel's request. */
export interface CreateModelRequest {
  name: string;
  owner: string;
  description: string;
  default_expires_after_seconds: Int64;
  /** Absent: the defaults (one copy, no maximum, not always resident). */
  placement?: PlacementSettingsMessage | null;
}

/** GetModel's and DeleteModel's request. */
export interface ModelNameRef {
  name: string;
}

/** ListModels' request; page_size 0 means 100, at most 1000. */
export interface ListModelsRequest {
  page_size: number;
  /** next_page_token of the previous page; empty for the first page. */
  page_token: string;
  /** Only models whose name contains this text. */
  name_filter: string;
}

/** One page of models, sorted by name. */
export interface ListModelsResponse {
  models: ModelMessage[];
  /** Empty on the last page. */
  next_page_token: string;
}

/** The fields UpdateModel can change, as named in update_mask. */
export const UPDATABLE_MODEL_FIELDS = [
  'owner',
  'description',
  'default_expires_after_seconds',
  'runtime',
  'placement',
  'placement.min_copies',
  'placement.max_copies',
  'placement.always_resident',
] as const;
export type UpdatableModelField = (typeof UPDATABLE_MODEL_FIELDS)[number];

/** UpdateModel's request: only the fields named in update_mask change. */
export interface UpdateModelRequest {
  name: string;
  owner: string;
  description: string;
  default_expires_after_seconds: Int64;
  update_mask: string[];
  /** 0: unconditional; otherwise ABORTED unless the model is still at this revision. */
  expected_revision: Int64;
  /** With 'runtime' in update_mask: the model's new default runtime settings, replacing the old whole. */
  runtime?: RuntimeSettingsMessage | null;
  /** Changed by update_mask 'placement', 'placement.min_copies', 'placement.max_copies' or 'placement.always_resident'. */
  placement?: PlacementSettingsMessage | null;
}

/** ListHistory's request; page_size 0 means 50, at most 1000. */
export interface ListHistoryRequest {
  model: string;
  page_size: number;
  page_token: string;
}

/** One change made through the admin API. */
export interface HistoryEntryMessage {
  at: string;
  /** The token's name, or "anonymous" when auth is off. */
  actor: string;
  /** The RPC that made the change, e.g. SetRoute. */
  action: string;
  model: string;
  version: string;
  /** The stored record before and after the change, as JSON; empty when absent. */
  before_json: string;
  after_json: string;
}

/** One page of a model's history, newest first. */
export interface ListHistoryResponse {
  entries: HistoryEntryMessage[];
  /** Empty on the last page. */
  next_page_token: string;
}

/** A control plane registered in etcd. */
export interface ControlPlaneInfoMessage {
  id: string;
  address: string;
  started_at: string;
}

/** A live prediction node. */
export interface NodeInfoMessage {
  node_id: string;
  address: string;
  build_version: string;
  started_at: string;
  metrics_address: string;
  /** Model memory (issue #16); '0' budget: unknown. */
  memory_budget_bytes?: Int64;
  memory_used_bytes?: Int64;
  memory_rss_bytes?: Int64;
  loaded_versions?: number;
  evictions?: Int64;
  /** The node's KServe v2 REST address; '' when REST is off. */
  http_address?: string;
  /** Draining: it takes nothing new, and placement moved its copies (issue #16). */
  draining?: boolean;
}

/** A node's state of one version of one model. */
export interface ModelVersionStateMessage {
  model: string;
  state: VersionStateMessage;
}

/** A node's versions counted by state. */
export interface VersionCountsMessage {
  total: number;
  ready: number;
  loading: number;
  failed: number;
  /** UNLOADING and any other state. */
  other: number;
}

/** A live node: its versions counted, and this page's share of them. */
export interface NodeStatusMessage {
  node: NodeInfoMessage;
  /** This page's share of the node's versions, by model then version key. */
  versions: ModelVersionStateMessage[];
  /** First page only (null on later pages): every version of the node counted by state. */
  counts: VersionCountsMessage | null;
  /** First page only: versions that report an error, at most 20. */
  errors: ModelVersionStateMessage[];
}

/** GetClusterStatus' request. */
export interface GetClusterStatusRequest {
  /** Node × version states per page; 0 means 1000; at most 5000. */
  page_size: number;
  page_token: string;
  /** The first page's summary only, without node × version detail. */
  summary_only: boolean;
}

/** One page of GetClusterStatus' answer (docs in admin.proto). */
export interface ClusterStatusMessage {
  nodes: NodeStatusMessage[];
  control_planes: ControlPlaneInfoMessage[];
  /** Empty on the last page. */
  next_page_token: string;
}

/** WhoAmI's response. */
export interface WhoAmIResponse {
  name: string;
  /** viewer, node, deployer or admin. */
  role: string;
  auth_enabled: boolean;
}

/** The response of the RPCs that return nothing (DeleteModel, DeleteVersion). */
export type EmptyMessage = Record<string, never>;
