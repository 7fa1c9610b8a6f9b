/**
 * The switchyard.admin.v1 messages as @grpc/proto-loader decodes them
 * (keepCase, longs as strings, defaults on, oneofs named), and the
 * conversions from stored records. Written by hand, like core's
 * inference-types: the API is small and a generator would be one more step.
 */
import type { Int64, RouteRecord, Signature, VersionRecord, VersionStatusRecord } from '@switchyard/core';

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
}

/** CreateVersion's request; an empty version asks for the next free vN. */
export interface CreateVersionRequest {
  model: string;
  artifact_sha256: string;
  version: string;
  labels: Record<string, string>;
  description: string;
}

/** GetVersion's and DeleteVersion's request. */
export interface VersionRef {
  model: string;
  version: string;
}

/** The request of the RPCs that name only a model. */
export interface ModelRef {
  model: string;
}

/** ListVersions' response, v2 before v10. */
export interface ListVersionsResponse {
  versions: VersionMessage[];
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
}

function signatureToMessage(signature: Signature): SignatureMessage {
  const spec = (t: Signature['inputs'][number]): TensorSpecMessage => ({ name: t.name, datatype: t.datatype, shape: t.shape });
  return { inputs: signature.inputs.map(spec), outputs: signature.outputs.map(spec) };
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
  };
}
