/**
 * Conversions from stored records to the switchyard.admin.v1 messages. The
 * message types themselves live in core (admin-types.ts) so the CLI shares
 * them.
 */
import { DEFAULT_PLACEMENT_SETTINGS, runtimeToMessage } from '@switchyard/core';
import type {
  ControlPlaneInfoMessage,
  ControlPlaneRecord,
  HistoryEntryMessage,
  HistoryEntryRecord,
  ModelMessage,
  ModelRecord,
  NodeInfoMessage,
  NodeMemoryRecord,
  NodeRecord,
  PlacementMessage,
  PlacementRecord,
  PlacementSettings,
  PlacementSettingsMessage,
  RouteMessage,
  RouteRecord,
  Signature,
  SignatureMessage,
  TensorSpecMessage,
  ValidationMessage,
  ValidationRecord,
  VersionMessage,
  VersionRecord,
  VersionStateMessage,
  VersionStatusRecord,
} from '@switchyard/core';

function signatureToMessage(signature: Signature): SignatureMessage {
  const spec = (t: Signature['inputs'][number]): TensorSpecMessage => ({ name: t.name, datatype: t.datatype, shape: t.shape });
  return { inputs: signature.inputs.map(spec), outputs: signature.outputs.map(spec) };
}

/** The API's view of a deploy-time validation result. */
export function validationToMessage(record: ValidationRecord): ValidationMessage {
  return {
    state: record.state,
    reason: record.reason,
    samples: record.samples,
    golden_recorded: record.goldenRecorded,
    max_abs_diff: record.maxAbsDiff,
    duration_ms: record.durationMs,
    validated_at: record.validatedAt,
  };
}

/** The API's view of a stored version. */
export function versionToMessage(record: VersionRecord): VersionMessage {
  return {
    model: record.model,
    version: record.version,
    artifact_sha256: record.artifact.sha256,
    artifact_size: String(record.artifact.size),
    signature: signatureToMessage(record.signature),
    created_at: record.createdAt,
    created_by: record.createdBy,
    labels: record.labels,
    description: record.description,
    expires_after_seconds: String(record.expiresAfterSeconds),
    validation: record.validation ? validationToMessage(record.validation) : null,
    samples_sha256: record.samples?.sha256 ?? '',
    // Last use and expiry need the usage records: retirement-admin.ts fills them in.
    last_used_at: '',
    expires_at: '',
    retirement_state: record.retirement?.state ?? 'ACTIVE',
    pinned: record.pinned ?? false,
    runtime: runtimeToMessage(record.runtime),
  };
}

/** The API's view of a stored route at a revision. */
export function routeToMessage(record: RouteRecord, revision: string): RouteMessage {
  return {
    model: record.model,
    splits: record.splits.map((s) => ({ version: s.version, weight: s.weight })),
    updated_at: record.updatedAt,
    revision,
  };
}

/** The API's view of one node's status of one version. */
export function versionStateToMessage(record: VersionStatusRecord): VersionStateMessage {
  return {
    version: record.version,
    state: record.state,
    error: record.error,
    updated_at: record.updatedAt,
    load_ms: record.loadMs ?? 0,
    memory_bytes: String(record.memoryBytes ?? 0),
  };
}

/** The API's view of a stored model at a revision, with its version names (already sorted). */
export function modelToMessage(record: ModelRecord, revision: string, versions: string[]): ModelMessage {
  return {
    name: record.name,
    owner: record.owner,
    description: record.description,
    default_expires_after_seconds: String(record.defaultExpiresAfterSeconds),
    created_at: record.createdAt,
    updated_at: record.updatedAt,
    revision,
    versions,
    retired_at: record.retiredAt ?? '',
    runtime: runtimeToMessage(record.runtime),
    placement: placementSettingsToMessage(record.placement ?? DEFAULT_PLACEMENT_SETTINGS),
  };
}

export function placementSettingsToMessage(settings: PlacementSettings): PlacementSettingsMessage {
  return { min_copies: settings.minCopies, max_copies: settings.maxCopies, always_resident: settings.alwaysResident };
}

/** A placement record as the API returns it. */
export function placementToMessage(record: PlacementRecord): PlacementMessage {
  return {
    version: record.version,
    copies: record.copies.map((c) => ({ node_id: c.nodeId, since: c.since })),
    wanted_copies: record.wantedCopies,
    estimated_bytes: String(record.estimatedBytes),
    reason: record.reason,
    updated_at: record.updatedAt,
  };
}

/** The API's view of an audit log entry; absent records become empty strings. */
export function historyEntryToMessage(record: HistoryEntryRecord): HistoryEntryMessage {
  const json = (value: unknown): string => (value === null || value === undefined ? '' : JSON.stringify(value));
  return {
    at: record.at,
    actor: record.actor,
    action: record.action,
    model: record.model,
    version: record.version,
    before_json: json(record.before),
    after_json: json(record.after),
  };
}

/** The API's view of a live node's registration. */
export function nodeInfoToMessage(record: NodeRecord, memory?: NodeMemoryRecord): NodeInfoMessage {
  return {
    node_id: record.id,
    address: record.address,
    build_version: record.buildVersion,
    started_at: record.startedAt,
    metrics_address: record.metricsAddress,
    // The node record's budget is the one placement reads; the memory record's is newer when the node has one.
    memory_budget_bytes: String(memory?.budgetBytes || record.memoryBudgetBytes),
    memory_used_bytes: String(memory?.usedBytes ?? 0),
    memory_rss_bytes: String(memory?.rssBytes ?? 0),
    loaded_versions: memory?.loaded ?? 0,
    evictions: String(memory?.evictions ?? 0),
    http_address: record.httpAddress,
    draining: record.draining,
  };
}

/** The API's view of a control plane's registration. */
export function controlPlaneToMessage(record: ControlPlaneRecord): ControlPlaneInfoMessage {
  return { id: record.id, address: record.address, started_at: record.startedAt };
}
