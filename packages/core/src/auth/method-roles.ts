import type { Role } from '../caller.js';

/** Full names of the services the auth layer knows. */
export const ADMIN_SERVICE_NAME = 'switchyard.admin.v1.ModelAdmin';
export const ARTIFACT_SERVICE_NAME = 'switchyard.artifacts.v1.ArtifactService';
export const HEALTH_SERVICE_NAME = 'grpc.health.v1.Health';

/**
 * What a method needs: a role, or 'open' for methods anyone may call
 * (health checks, which load balancers and orchestrators make without tokens).
 */
export type MethodAccess = Role | 'open';

/**
 * The role each RPC needs. Reading is viewer; changing what is served is
 * deployer; destroying (deletes) is admin. Every method is listed explicitly,
 * so a new RPC is admin-only until someone decides otherwise here.
 */
export const METHOD_ROLES: Readonly<Record<string, Readonly<Record<string, Role>>>> = Object.freeze({
  [ADMIN_SERVICE_NAME]: Object.freeze({
    GetModel: 'viewer',
    ListModels: 'viewer',
    GetVersion: 'viewer',
    ListVersions: 'viewer',
    GetRoute: 'viewer',
    GetModelStatus: 'viewer',
    GetClusterStatus: 'viewer',
    ListHistory: 'viewer',
    WhoAmI: 'viewer',
    CreateModel: 'deployer',
    UpdateModel: 'deployer',
    UploadArtifact: 'deployer',
    CreateVersion: 'deployer',
    SetRoute: 'deployer',
    DeleteVersion: 'admin',
    DeleteModel: 'admin',
    // Rollouts
    StartRollout: 'deployer',
    GetRollout: 'viewer',
    PauseRollout: 'deployer',
    ResumeRollout: 'deployer',
    AbortRollout: 'deployer',
    PromoteRollout: 'deployer',
    // Shadows
    AddShadow: 'deployer',
    RemoveShadow: 'deployer',
    ListShadows: 'viewer',
    GetShadowReport: 'viewer',
    // Retirement
    RetirementPlan: 'viewer',
    ListRetirements: 'viewer',
    // Retiring unloads a model everywhere and leads to its artifact being deleted.
    Retire: 'admin',
    Unretire: 'admin',
    PinVersion: 'admin',
  } satisfies Record<string, Role>),
  // Nodes download artifacts with a token of their own; viewer is enough for
  // models. Samples documents need SAMPLES_ROLE, checked by the handler since
  // only the artifact's bytes tell what it is.
  [ARTIFACT_SERVICE_NAME]: Object.freeze({ FetchArtifact: 'viewer' } satisfies Record<string, Role>),
});

/**
 * The role FetchArtifact needs for a samples document: sample inputs and
 * golden outputs may be real user data, so viewers may not read them; nodes
 * (which warm versions up with their samples) and deployers may.
 */
export const SAMPLES_ROLE: Role = 'node';

/** Services that never need a token. */
const OPEN_SERVICES: ReadonlySet<string> = new Set([HEALTH_SERVICE_NAME]);

/**
 * What calling `service`/`method` requires. Unknown services and methods
 * need admin: failing closed means a forgotten entry locks out, not in.
 * grpc-js implementations may name methods in lowerCamelCase; both work.
 */
export function requiredRole(service: string, method: string): MethodAccess {
  if (OPEN_SERVICES.has(service)) return 'open';
  // Own properties only: "constructor" or "toString" must not find Object's.
  const methods = Object.hasOwn(METHOD_ROLES, service) ? METHOD_ROLES[service] : undefined;
  if (!methods) return 'admin';
  for (const name of [method, method.charAt(0).toUpperCase() + method.slice(1)]) {
    if (Object.hasOwn(methods, name)) return methods[name] ?? 'admin';
  }
  return 'admin';
}
