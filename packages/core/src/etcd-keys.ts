/**
 * The etcd key layout. Every key Switchyard writes is built here, so the
 * layout documented in docs/etcd-layout.md has exactly one implementation.
 *
 * Target state (what should be; written by the control plane, watched by
 * every node) and runtime state (what is; written by nodes and control
 * planes) sit under separate subtrees, so a node watches one range and is
 * not woken by every other node's status writes.
 *
 *   {prefix}target/models/{model}                       ModelRecord
 *   {prefix}target/versions/{model}/{version}           VersionRecord
 *   {prefix}target/routes/{model}                       RouteRecord
 *   {prefix}target/placements/{model}/{version}         PlacementRecord (elected control plane only)
 *   {prefix}runtime/nodes/{nodeId}                      NodeRecord (bound to the node's lease)
 *   {prefix}runtime/status/{nodeId}/{model}/{version}   VersionStatusRecord (bound to the node's lease)
 *   {prefix}runtime/memory/{nodeId}                     NodeMemoryRecord (bound to the node's lease)
 *   {prefix}runtime/control-planes/{id}                 ControlPlaneRecord (bound to its lease)
 *   {prefix}runtime/rollout-stats/{model}/{rolloutId}/{step}/{nodeId}.{incarnation}
 *                                                       RolloutStatsRecord (not lease-bound; deleted when the rollout ends)
 *   {prefix}runtime/shadow-stats/{model}/{primary}/{shadow}/{nodeId}.{incarnation}
 *                                                       ShadowStatsRecord (not lease-bound; deleted with the shadow)
 *   {prefix}runtime/usage/{model}/{version}/{nodeId}    UsageRecord (not lease-bound; deleted with the version)
 *   {prefix}runtime/election/{name}                     the leader's id, bound to its lease (leader-only control-plane work)
 *   {prefix}audit/{model}/{entryId}                     HistoryEntryRecord
 *
 * Audit entry ids are a zero-padded millisecond time plus a random suffix, so
 * a descending key sort lists a model's history newest first.
 */
export const DEFAULT_PREFIX = '/switchyard/';

/**
 * Names of models and versions: safe in a key, a URL and a shell, and the
 * names Triton users give their models (both cases: `ResNet50_v1.5`).
 * Case-sensitive, as in Triton's model repository.
 */
export const NAME_PATTERN = /^[A-Za-z0-9]([A-Za-z0-9._-]{0,62}[A-Za-z0-9])?$/;

/** Names the operators choose for processes and tokens (node and control-plane ids, token names): lower case, as hostnames. */
export const ID_PATTERN = /^[a-z0-9]([a-z0-9._-]{0,62}[a-z0-9])?$/;

export type KeyKind = 'models' | 'versions' | 'routes' | 'placements' | 'nodes' | 'status' | 'memory' | 'control-planes' | 'audit';

/** A key split back into its parts. */
export type ParsedKey =
  | { kind: 'models'; model: string }
  | { kind: 'versions'; model: string; version: string }
  | { kind: 'routes'; model: string }
  | { kind: 'placements'; model: string; version: string }
  | { kind: 'nodes'; nodeId: string }
  | { kind: 'status'; nodeId: string; model: string; version: string }
  | { kind: 'memory'; nodeId: string }
  | { kind: 'control-planes'; id: string }
  | { kind: 'audit'; model: string; entryId: string };

export class KeyLayout {
  readonly prefix: string;

  constructor(prefix: string = DEFAULT_PREFIX) {
    this.prefix = prefix.endsWith('/') ? prefix : `${prefix}/`;
  }

  /** Everything a prediction node watches. */
  targetPrefix(): string {
    return `${this.prefix}target/`;
  }
  /** What nodes and control planes report about themselves. */
  runtimePrefix(): string {
    return `${this.prefix}runtime/`;
  }

  model(model: string): string {
    return `${this.prefix}target/models/${model}`;
  }
  modelsPrefix(): string {
    return `${this.prefix}target/models/`;
  }
  version(model: string, version: string): string {
    return `${this.prefix}target/versions/${model}/${version}`;
  }
  versionsPrefix(model?: string): string {
    return model === undefined ? `${this.prefix}target/versions/` : `${this.prefix}target/versions/${model}/`;
  }
  route(model: string): string {
    return `${this.prefix}target/routes/${model}`;
  }
  routesPrefix(): string {
    return `${this.prefix}target/routes/`;
  }
  placement(model: string, version: string): string {
    return `${this.prefix}target/placements/${model}/${version}`;
  }
  placementsPrefix(model?: string): string {
    return model === undefined ? `${this.prefix}target/placements/` : `${this.prefix}target/placements/${model}/`;
  }
  nodeMemory(nodeId: string): string {
    return `${this.prefix}runtime/memory/${nodeId}`;
  }
  nodeMemoryPrefix(): string {
    return `${this.prefix}runtime/memory/`;
  }
  node(nodeId: string): string {
    return `${this.prefix}runtime/nodes/${nodeId}`;
  }
  nodesPrefix(): string {
    return `${this.prefix}runtime/nodes/`;
  }
  status(nodeId: string, model: string, version: string): string {
    return `${this.prefix}runtime/status/${nodeId}/${model}/${version}`;
  }
  statusPrefix(nodeId?: string, model?: string): string {
    if (nodeId === undefined) return `${this.prefix}runtime/status/`;
    return model === undefined ? `${this.prefix}runtime/status/${nodeId}/` : `${this.prefix}runtime/status/${nodeId}/${model}/`;
  }
  history(model: string, entryId: string): string {
    return `${this.prefix}audit/${model}/${entryId}`;
  }
  historyPrefix(model: string): string {
    return `${this.prefix}audit/${model}/`;
  }
  controlPlane(id: string): string {
    return `${this.prefix}runtime/control-planes/${id}`;
  }
  controlPlanesPrefix(): string {
    return `${this.prefix}runtime/control-planes/`;
  }

  /** A node process's figures for one rollout step; `reporter` is `{nodeId}.{incarnation}`. */
  rolloutStats(model: string, rolloutId: string, step: number, reporter: string): string {
    return `${this.prefix}runtime/rollout-stats/${model}/${rolloutId}/${step}/${reporter}`;
  }
  /** Every step of one rollout (with `rolloutId`), or every rollout of a model. */
  rolloutStatsPrefix(model: string, rolloutId?: string, step?: number): string {
    const base = `${this.prefix}runtime/rollout-stats/${model}/`;
    if (rolloutId === undefined) return base;
    return step === undefined ? `${base}${rolloutId}/` : `${base}${rolloutId}/${step}/`;
  }
  /** A node process's figures for one shadow of one primary; `reporter` is `{nodeId}.{incarnation}`. */
  shadowStats(model: string, primary: string, shadow: string, reporter: string): string {
    return `${this.prefix}runtime/shadow-stats/${model}/${primary}/${shadow}/${reporter}`;
  }
  shadowStatsPrefix(model: string, primary?: string, shadow?: string): string {
    const base = `${this.prefix}runtime/shadow-stats/${model}/`;
    if (primary === undefined) return base;
    return shadow === undefined ? `${base}${primary}/` : `${base}${primary}/${shadow}/`;
  }
  /** When `nodeId` last used a version. */
  usage(model: string, version: string, nodeId: string): string {
    return `${this.prefix}runtime/usage/${model}/${version}/${nodeId}`;
  }
  usagePrefix(model?: string, version?: string): string {
    const base = `${this.prefix}runtime/usage/`;
    if (model === undefined) return base;
    return version === undefined ? `${base}${model}/` : `${base}${model}/${version}/`;
  }
  /** The one key of election `name`: the leader's id, created if absent and bound to its lease. */
  election(name: string): string {
    return `${this.prefix}runtime/election/${name}`;
  }

  /** Splits a key under this prefix; undefined for anything else. */
  parse(key: string): ParsedKey | undefined {
    if (!key.startsWith(this.prefix)) return undefined;
    const [area, ...parts] = key.slice(this.prefix.length).split('/');
    const [kind, a, b, c] = parts;
    if (area === 'audit') {
      return parts.length === 2 && parts[0] && parts[1] ? { kind: 'audit', model: parts[0], entryId: parts[1] } : undefined;
    }
    const expectedArea = kind === 'models' || kind === 'versions' || kind === 'routes' || kind === 'placements' ? 'target' : 'runtime';
    if (area !== expectedArea) return undefined;
    if (a === undefined || a === '') return undefined;
    switch (kind) {
      case 'models':
        return parts.length === 2 ? { kind, model: a } : undefined;
      case 'versions':
        return parts.length === 3 && b ? { kind, model: a, version: b } : undefined;
      case 'routes':
        return parts.length === 2 ? { kind, model: a } : undefined;
      case 'placements':
        return parts.length === 3 && b ? { kind, model: a, version: b } : undefined;
      case 'memory':
        return parts.length === 2 ? { kind, nodeId: a } : undefined;
      case 'nodes':
        return parts.length === 2 ? { kind, nodeId: a } : undefined;
      case 'status':
        return parts.length === 4 && b && c ? { kind, nodeId: a, model: b, version: c } : undefined;
      case 'control-planes':
        return parts.length === 2 ? { kind, id: a } : undefined;
      default:
        return undefined;
    }
  }
}
