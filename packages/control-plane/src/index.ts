export { ControlPlane, type ControlPlaneState } from './control-plane.js';
export {
  DEFAULT_MAX_ARTIFACT_BYTES,
  DEFAULT_MAX_MESSAGE_BYTES,
  resolveControlPlaneOptions,
  type ControlPlaneOptions,
  type ResolvedControlPlaneOptions,
} from './control-plane-options.js';
export {
  SHA256_PATTERN,
  isSha256,
  readArtifact,
  type ArtifactPutOptions,
  type ArtifactPutResult,
  type ArtifactStore,
  type OpenedArtifact,
} from './artifact-store.js';
export { FileArtifactStore, type FileArtifactStoreOptions } from './artifact-store-file.js';
export { readOnnxSignature } from './onnx-signature.js';
export {
  TargetStateStore,
  type ClusterRead,
  type CreateModelOutcome,
  type HistoryRange,
  type ModelRange,
  type ModelTree,
  type RawRecord,
  type CreateVersionOutcome,
  type ModelCondition,
  type NodeModelState,
  type PutRouteOutcome,
  type RouteRead,
  type Stored,
  type TargetStateStoreOptions,
} from './target-state-store.js';
// The etcd layer, for leader-only work built on the control plane's tables (e.g. placement).
export { EtcdTables, type EtcdTablesOptions } from './etcd-tables.js';
export { GuardedWrite, type KeyConflict, type WriteOutcome } from './etcd-guarded-write.js';
export type { EtcdClient } from './etcd-client.js';
export { AdminService, type AdminServiceOptions } from './admin-service.js';
export { MODEL_PAGE_LIMITS, ModelAdmin, type ModelAdminOptions } from './model-admin.js';
export { HISTORY_PAGE_LIMITS, listHistory } from './history-listing.js';
export { HISTORY_ENTRY_ID, historyEntry, historyEntryId, type Change } from './history-entries.js';
export { DeployValidation, readRequestSamples, type DeployValidationOptions, type DeployValidationResult } from './deploy-validation.js';
// The validation child, for release validation (`switchyard validate`, issue #7).
export { runInChild, zeroSample, ZERO_SAMPLE_NAME, type ChildRunOptions, type ChildRunResult, type ChildStage } from './validation/index.js';
export { decodePageToken, encodePageToken, resolvePageSize, type PageLimits } from './page-tokens.js';
export {
  ARTIFACT_CHUNK_BYTES,
  ArtifactService,
  type ArtifactChunk,
  type ArtifactServiceOptions,
  type FetchArtifactRequest,
} from './artifact-service.js';
export { LeaseRegistration, type LeaseRegistrationOptions } from './lease-registration.js';
export { checkName, compareVersionNames, nextVersionName } from './version-names.js';
export { historyEntryToMessage, modelToMessage, routeToMessage, validationToMessage, versionToMessage } from './admin-messages.js';
export { EtcdLeaderElection, StaticLeadership, type EtcdLeaderElectionOptions, type Leadership } from './leader-election.js';
export { ShadowAdmin, MAX_SHADOWS, DEFAULT_SHADOW_TOLERANCE, type ShadowAdminOptions } from './shadow-admin.js';
export { ShadowKeeper, SHADOW_KEEPER_ACTOR, type ShadowKeeperOptions } from './shadow-keeper.js';
export { PlacementKeeper, placementChanges, type PlacementKeeperOptions, type PlacementKeeperCounts } from './placement-keeper.js';
export { DEFAULT_PLACEMENT_POLICY, decidePlacements, placementId, type PlacementCandidate, type PlacementDecision, type PlacementInput, type PlacementNode, type PlacementPolicy, type VersionPlacement } from './placement-decision.js';
export { DEFAULT_MEMORY_FACTOR, costEstimate, versionCost, type CostEstimate } from './placement-cost.js';
export { pairToMessage, shadowToMessage, sumShadowStats, type ShadowPairFigures } from './shadow-figures.js';
export { RolloutController, ROLLOUT_CONTROLLER_ACTOR, type RolloutControllerOptions, type RolloutControllerCounts } from './rollout-controller.js';
export { RolloutAdmin, type RolloutAdminOptions } from './rollout-admin.js';
export { RolloutMetrics } from './rollout-metrics.js';
export { RolloutFiguresReader, sumShadowRecords, sumStepRecords } from './rollout-figures.js';
export { evaluateGates, type GateVerdict, type ShadowFigures, type StepFigures, type VersionFigures } from './rollout-gates.js';
export { decide, isActive, type RolloutDecision } from './rollout-decision.js';
export { checkSteps, stepSplits, endSplits, DEFAULT_ROLLOUT_STEPS } from './rollout-plan.js';
// Auto-retirement (issue #6).
export { createRetirement } from './retirement.js';
export { RetirementSweeper, type SweepReport } from './retirement-sweeper.js';
export { resolveRetirementOptions, type RetirementOptions, type ResolvedRetirementOptions } from './retirement-options.js';
export { assessVersion, type Assessment, type VersionUsage } from './retirement-policy.js';
export { rescale, routeWithout } from './retirement-route.js';
export { ConsoleServer, CSRF_HEADER, type ConsoleServerOptions } from './console/console-server.js';
export { CONTENT_SECURITY_POLICY, SESSION_COOKIE } from './console/console-security.js';
export { parseNodeMetrics, ratesBetween, NodeMetricsSampler, type VersionRates } from './console/console-node-metrics.js';
