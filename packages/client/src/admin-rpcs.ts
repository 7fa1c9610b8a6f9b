import type {
  AddShadowRequest,
  RemoveShadowRequest,
  ShadowListMessage,
  ShadowReportMessage,
  ClusterStatusMessage,
  CreateModelRequest,
  CreateVersionRequest,
  EmptyMessage,
  ListHistoryRequest,
  ListHistoryResponse,
  ListModelsRequest,
  ListModelsResponse,
  ListVersionsRequest,
  ListVersionsResponse,
  GetClusterStatusRequest,
  ModelMessage,
  ModelNameRef,
  ModelRef,
  ModelStatusMessage,
  RouteMessage,
  RolloutActionRequest,
  RolloutMessage,
  SetRouteRequest,
  StartRolloutRequest,
  UpdateModelRequest,
  VersionMessage,
  VersionRef,
  WhoAmIResponse,
  ListRetirementsResponse,
  PinVersionRequest,
  RetireRequest,
  RetireResponse,
  RetirementPlanResponse,
  RetirementScopeRequest,
  UnretireRequest,
} from '@switchyard/core';

/**
 * Request and response of every unary ModelAdmin RPC
 * (proto/switchyard/admin/v1/admin.proto), keyed by the RPC's proto name.
 * UploadArtifact is client streaming and has its own methods.
 */
export interface AdminUnaryRpcs {
  CreateModel: [CreateModelRequest, ModelMessage];
  GetModel: [ModelNameRef, ModelMessage];
  ListModels: [ListModelsRequest, ListModelsResponse];
  UpdateModel: [UpdateModelRequest, ModelMessage];
  DeleteModel: [ModelNameRef, EmptyMessage];
  CreateVersion: [CreateVersionRequest, VersionMessage];
  GetVersion: [VersionRef, VersionMessage];
  ListVersions: [ListVersionsRequest, ListVersionsResponse];
  DeleteVersion: [VersionRef, EmptyMessage];
  SetRoute: [SetRouteRequest, RouteMessage];
  GetRoute: [ModelRef, RouteMessage];
  GetModelStatus: [ModelRef, ModelStatusMessage];
  GetClusterStatus: [GetClusterStatusRequest, ClusterStatusMessage];
  ListHistory: [ListHistoryRequest, ListHistoryResponse];
  WhoAmI: [EmptyMessage, WhoAmIResponse];
  // Rollouts
  StartRollout: [StartRolloutRequest, RolloutMessage];
  GetRollout: [ModelRef, RolloutMessage];
  PauseRollout: [RolloutActionRequest, RolloutMessage];
  ResumeRollout: [RolloutActionRequest, RolloutMessage];
  AbortRollout: [RolloutActionRequest, RolloutMessage];
  PromoteRollout: [RolloutActionRequest, RolloutMessage];
  // Shadows
  AddShadow: [AddShadowRequest, ShadowListMessage];
  RemoveShadow: [RemoveShadowRequest, ShadowListMessage];
  ListShadows: [ModelRef, ShadowListMessage];
  GetShadowReport: [ModelRef, ShadowReportMessage];
  // Retirement
  RetirementPlan: [RetirementScopeRequest, RetirementPlanResponse];
  ListRetirements: [RetirementScopeRequest, ListRetirementsResponse];
  Retire: [RetireRequest, RetireResponse];
  Unretire: [UnretireRequest, VersionMessage];
  PinVersion: [PinVersionRequest, VersionMessage];
}

/** The name of a unary ModelAdmin RPC. */
export type AdminUnaryMethod = keyof AdminUnaryRpcs;

/**
 * The request of `M`. Fields left out take their proto3 defaults on the
 * wire (empty strings, zeros, empty lists), which is what the API documents
 * for "not given"; so every field is optional here.
 */
export type AdminRequest<M extends AdminUnaryMethod> = Partial<AdminUnaryRpcs[M][0]>;

/** The response of `M`, as @grpc/proto-loader decodes it (see core's admin-types.ts). */
export type AdminResponse<M extends AdminUnaryMethod> = AdminUnaryRpcs[M][1];

/**
 * Every unary RPC name, in the order of the proto. A test compares this
 * with the service definition, so a new RPC cannot be forgotten here.
 */
export const ADMIN_UNARY_METHODS: readonly AdminUnaryMethod[] = Object.freeze([
  'CreateModel',
  'GetModel',
  'ListModels',
  'UpdateModel',
  'DeleteModel',
  'CreateVersion',
  'GetVersion',
  'ListVersions',
  'DeleteVersion',
  'SetRoute',
  'GetRoute',
  'GetModelStatus',
  'GetClusterStatus',
  'ListHistory',
  'WhoAmI',
  // Rollouts
  'StartRollout',
  'GetRollout',
  'PauseRollout',
  'ResumeRollout',
  'AbortRollout',
  'PromoteRollout',
  // Shadows
  'AddShadow',
  'RemoveShadow',
  'ListShadows',
  'GetShadowReport',
  // Retirement
  'RetirementPlan',
  'ListRetirements',
  'Retire',
  'Unretire',
  'PinVersion',
]);
