// @switchyard/core's light root entry: errors, the etcd key layout and
// schemas, datatypes, sample documents, auth tokens and the admin and
// inference message types. It loads no native binding, no gRPC, etcd or
// logging library, so the client and the CLI start fast; the heavy parts are
// subpath entries: '@switchyard/core/grpc' (proto loading, credentials,
// server auth), '/ort' (onnxruntime tensors), '/etcd' (the etcd client) and
// '/logging' (winston).
export {
  GrpcStatus,
  type SwitchyardErrorOptions,
  SwitchyardError,
  notFound,
  invalidArgument,
  failedPrecondition,
  unavailable,
  aborted,
  alreadyExists,
  resourceExhausted,
  internal,
  unimplemented,
} from './errors.js';
export {
  type Clock,
  systemClock,
} from './clock.js';
export {
  DEFAULT_PREFIX,
  NAME_PATTERN,
  ID_PATTERN,
  type KeyKind,
  type ParsedKey,
  KeyLayout,
} from './etcd-keys.js';
export {
  type EtcdConnectionOptions,
  parseEndpoints,
} from './etcd-connection.js';
export {
  TensorSpecSchema,
  type TensorSpec,
  SignatureSchema,
  type Signature,
  VALIDATION_STATES,
  type ValidationState,
  ModelRecordSchema,
  type ModelRecord,
  type PlacementSettings,
  DEFAULT_PLACEMENT_SETTINGS,
  RETIREMENT_STATES,
  type RetirementState,
  VersionRecordSchema,
  type VersionRecord,
  type RetirementRecord,
  type ValidationRecord,
  TOTAL_WEIGHT,
  RouteSplitSchema,
  type RouteSplit,
  SlotRangeSchema,
  type SlotRange,
  ShadowEntrySchema,
  type ShadowEntry,
  ROLLOUT_STATES,
  type RolloutState,
  RolloutGatesSchema,
  type RolloutGates,
  RolloutFiguresSchema,
  type RolloutFigures,
  RolloutRecordSchema,
  type RolloutRecord,
  RouteRecordSchema,
  type RouteRecord,
  NodeRecordSchema,
  type NodeRecord,
  LOAD_STATES,
  type LoadState,
  VersionStatusRecordSchema,
  type VersionStatusRecord,
  ControlPlaneRecordSchema,
  type ControlPlaneRecord,
  HistoryEntryRecordSchema,
  type HistoryEntryRecord,
  VersionCountersSchema,
  type VersionCounters,
  RolloutStatsRecordSchema,
  type RolloutStatsRecord,
  ShadowOutputStatsSchema,
  type ShadowOutputStats,
  ShadowStatsRecordSchema,
  type ShadowStatsRecord,
  UsageRecordSchema,
  type UsageRecord,
  NodeMemoryRecordSchema,
  type NodeMemoryRecord,
  PlacementRecordSchema,
  type PlacementRecord,
  FORWARDED_METADATA_KEY,
  ROUTED_VERSION_METADATA_KEY,
  parseStored,
  RECORD_LIMITS,
  utf8Bytes,
  textLimitError,
  labelsLimitError,
  recordLimitError,
} from './schemas.js';
export {
  assignSlots,
  validateSlots,
  resolveSlots,
} from './route-slots.js';
export { setReadyHolder } from './ready-holders.js';
export {
  FALLBACK_HASH_SEED,
  hash32,
  routingKeySlot,
} from './routing-key-hash.js';
export {
  type OrtTensorType,
  DATATYPES,
  type Datatype,
  type FixedDatatype,
  isDatatype,
  isFixedSize,
  elementBytes,
  toOrtType,
  fromOrtType,
  unservedTypeReason,
} from './datatypes.js';
export {
  flattenJson,
  jsonToRaw,
  rawToJsonText,
} from './tensor-json.js';
export {
  halfToNumber,
  numberToHalf,
  roundToHalf,
  halvesToNumbers,
  numbersToHalves,
} from './float16.js';
export {
  sha256Hex,
  sha256File,
} from './sha256.js';
export {
  BUILD_VERSION,
} from './build-info.js';
export {
  type Int64,
  type InferParameter,
  type InferTensorContents,
  type InferInputTensor,
  type ModelInferRequest,
  type InferOutputTensor,
  type ModelInferResponse,
  type TensorMetadata,
  type ModelMetadataResponse,
} from './inference-types.js';
export {
  type UploadArtifactHeader,
  type UploadArtifactRequest,
  type UploadArtifactResponse,
  type TensorSpecMessage,
  type SignatureMessage,
  type ValidationMessage,
  type VersionMessage,
  type CreateVersionRequest,
  type VersionRef,
  type ModelRef,
  type ListVersionsRequest,
  type ListVersionsResponse,
  type RouteSplitMessage,
  type RouteMessage,
  type SetRouteRequest,
  type VersionStateMessage,
  type NodeModelStatusMessage,
  type ModelStatusMessage,
  type ModelMessage,
  type PlacementMessage,
  type PlacementSettingsMessage,
  type CreateModelRequest,
  type ModelNameRef,
  type ListModelsRequest,
  type ListModelsResponse,
  UPDATABLE_MODEL_FIELDS,
  type UpdatableModelField,
  type UpdateModelRequest,
  type ListHistoryRequest,
  type HistoryEntryMessage,
  type ListHistoryResponse,
  type ControlPlaneInfoMessage,
  type NodeInfoMessage,
  type ModelVersionStateMessage,
  type NodeStatusMessage,
  type VersionCountsMessage,
  type GetClusterStatusRequest,
  type ClusterStatusMessage,
  type WhoAmIResponse,
  type EmptyMessage,
  type RuntimeSettingsMessage,
} from './admin-types.js';
export {
  type RolloutGatesMessage,
  type RolloutFiguresMessage,
  type RolloutMessage,
  type StartRolloutRequest,
  type RolloutActionRequest,
} from './admin-types-rollout.js';
export {
  RETIREMENT_ACTIONS,
  type RetirementAction,
  type RetirementEntryMessage,
  type RetirementScopeRequest,
  type RetirementPlanResponse,
  type ListRetirementsResponse,
  type RetireRequest,
  type RetireResponse,
  type UnretireRequest,
  type PinVersionRequest,
} from './admin-types-retirement.js';
export {
  type ShadowMessage,
  type AddShadowRequest,
  type RemoveShadowRequest,
  type ShadowListMessage,
  type ShadowOutputReportMessage,
  type ShadowPairReportMessage,
  type ShadowReportMessage,
} from './admin-types-shadow.js';
export {
  splitHostPort,
} from './listen-address.js';
export {
  ROLES,
  type Role,
  type CallerIdentity,
  ANONYMOUS,
  setCaller,
  getCaller,
  roleAllows,
} from './caller.js';
export {
  type SampleValue,
  type SampleTensor,
  type Tolerance,
  type Sample,
  type SamplesDocument,
  DEFAULT_TOLERANCE,
  MAX_SAMPLES,
  MAX_SAMPLES_DOCUMENT_BYTES,
  SamplesDocumentSchema,
  parseSamplesDocument,
  checkSamplesAgainstSignature,
  serializeSamplesDocument,
} from './samples.js';
export {
  type ElementMismatch,
  type OutputComparison,
  type SampleTolerances,
  type SampleComparison,
  compareOutputs,
  compareSample,
} from './golden-compare.js';
export {
  HISTOGRAM_MIN_SECONDS,
  HISTOGRAM_GROWTH,
  HISTOGRAM_BUCKETS,
  histogramBucket,
  histogramUpperBound,
  emptyHistogram,
  addHistogram,
  subtractHistogram,
  histogramQuantile,
} from './latency-histogram.js';
export {
  type TypedArray,
  type TensorData,
  decodeContents,
  decodeRaw,
  encodeRaw,
  decodeBytesRaw,
  encodeBytesRaw,
  zeroArray,
} from './tensor-raw.js';
export {
  type ServerTlsOptions,
  type ClientTlsOptions,
  readPemFile,
  checkTlsPair,
  etcdTlsFromFiles,
} from './tls-files.js';
export {
  TOKEN_PREFIX,
  generateToken,
  hashToken,
  tokenDigest,
} from './auth/token-hash.js';
export {
  type TokenEntry,
  type TokensDocument,
  parseTokensDocument,
  readTokensFile,
  type AddTokenOptions,
  addToken,
} from './auth/tokens-file.js';
export {
  TOKENS_ENV,
  type TokenSources,
  TokenStore,
} from './auth/token-store.js';
export {
  ADMIN_SERVICE_NAME,
  ARTIFACT_SERVICE_NAME,
  HEALTH_SERVICE_NAME,
  type MethodAccess,
  METHOD_ROLES,
  requiredRole,
  SAMPLES_ROLE,
} from './auth/method-roles.js';

// Types of the heavy entries, so code that only passes these values along
// needs no runtime import of them.
export type { Logger } from './logger.js';
export type { Feeds, EncodedOutput } from './tensor-codec.js';
export {
  batchable,
  checkInheritedRuntime,
  checkRuntimeSettings,
  DEFAULT_RUNTIME,
  resolveRuntime,
  runtimeFromMessage,
  runtimeKey,
  runtimeToMessage,
  RuntimeSettingsSchema,
  type ResolvedRuntime,
  type RuntimeHeir,
  type RuntimeSettings,
} from './runtime-settings.js';
