import type * as grpc from '@grpc/grpc-js';
import {
  FORWARDED_METADATA_KEY,
  GrpcStatus,
  ROUTED_VERSION_METADATA_KEY,
  routingKeySlot,
  SwitchyardError,
  TOTAL_WEIGHT,
  unavailable,
  type Logger,
  type ModelInferRequest,
  type ModelInferResponse,
  type RouteRecord,
} from '@switchyard/core';
import type { ClusterView } from './cluster-view.js';
import type { LoadedVersion } from './loaded-version.js';
import type { DensityMetrics } from './density-metrics.js';
import type { NodeForwarder } from './node-forwarder.js';
import type { RoutePick, RoutingTable } from './routing-table.js';
import type { RequestTrace } from './tracing.js';
import { versionKey, type TargetState } from './target-state.js';

/** How one request is served when the node holds only part of what is routed (issue #16). */
export type Resolution =
  /** Here, by a loaded version; `warm` names the slot's version to load in the background (the pick fell back). */
  | { readonly kind: 'local'; readonly pick: RoutePick; readonly warm?: string }
  /** By another node that holds the version READY. */
  | { readonly kind: 'forward'; readonly version: string; readonly nodeId: string; readonly address: string }
  /** Here, once the version has loaded (a cold start). */
  | { readonly kind: 'load'; readonly version: string };

/** What {@link resolveRequest} reads. */
export interface ResolveInputs {
  readonly table: RoutingTable;
  readonly target: TargetState | undefined;
  readonly view: ClusterView;
  readonly selfId: string;
  /** The request came from another node: it is never forwarded again. */
  readonly forwarded: boolean;
  /** The version a forwarding node or the client chose from the route's slots, for an unversioned request. */
  readonly routedVersion: string | undefined;
  /** The request's routing key, if any. */
  readonly key: string | undefined;
  /** Uniform in [0, 1): the slot of a request without a key, and the holder it is forwarded to. */
  readonly random: number;
}

/** The route's version for a slot, from the route record itself (not from what is loaded here). */
export function slotVersion(route: RouteRecord, key: string | undefined, random: number): string | undefined {
  const slots = route.slots;
  if (!slots || slots.length === 0) return route.splits.find((s) => s.weight > 0)?.version;
  const slot = key === undefined ? Math.floor(random * TOTAL_WEIGHT) : routingKeySlot(key);
  for (const r of slots) if (slot >= r.start && slot < r.end) return r.version;
  return undefined;
}

/** Whether `version` of the route may take a request: weighted, or a shadow (for a request naming it). */
function weighted(route: RouteRecord, version: string): boolean {
  return route.splits.some((s) => s.version === version && s.weight > 0);
}

/**
 * Decides where one request goes; throws nothing for a request the table
 * could not serve either (the caller falls back to the plain path, which
 * says precisely why). Undefined: serve as without density (the table's own
 * pick, or its error).
 *
 * For an unversioned request the slot's version V comes from the route
 * record (its slots), not from what is loaded here:
 * 1. V loaded here: served here (the common case, one map read more than before).
 * 2. V READY on another node and the request not already forwarded: forwarded there.
 * 3. Another of the route's versions loaded here: served by it, counted as a
 *    fallback, while V loads here in the background (a cold version never
 *    makes a request wait when the node can answer at once).
 * 4. Else V loads here and the request waits for it, within its deadline.
 * A request naming a version takes 1, 2 and 4 for that version.
 */
export function resolveRequest(model: string, version: string, inputs: ResolveInputs): Resolution | undefined {
  const { table, target, view, selfId, forwarded } = inputs;
  if (!model || !target) return undefined;
  const route = target.routes.get(model);
  let wanted: string | undefined;
  if (version) {
    if (table.versions.has(versionKey(model, version))) return undefined;
    // Only what is routed loads on request: a name nobody routes is NOT_FOUND, said by the plain path.
    if (!route || !target.versions.has(versionKey(model, version))) return undefined;
    if (!route.splits.some((s) => s.version === version) && !route.shadows.some((s) => s.version === version)) return undefined;
    wanted = version;
  } else {
    if (!route || target.retiredModels?.has(model)) return undefined;
    const tableRoute = table.routes.get(model);
    const hinted = inputs.routedVersion !== undefined && weighted(route, inputs.routedVersion) ? inputs.routedVersion : undefined;
    if (hinted === undefined && tableRoute) {
      const pick = tableRoute.pick(inputs.key, inputs.random);
      if (pick.fallbackFrom === undefined && weighted(route, pick.loaded.version)) return { kind: 'local', pick };
    }
    wanted = hinted ?? slotVersion(route, inputs.key, inputs.random);
    if (wanted === undefined || !target.versions.has(versionKey(model, wanted))) return undefined;
    const here = table.versions.get(versionKey(model, wanted));
    if (here && !here.closed) return { kind: 'local', pick: { loaded: here, fallbackFrom: undefined } };
    if (!forwarded) {
      const to = holderElsewhere(view, versionKey(model, wanted), selfId, inputs.random);
      if (to) return { kind: 'forward', version: wanted, ...to };
    }
    if (tableRoute?.usable()) {
      const pick = tableRoute.pick(inputs.key, inputs.random);
      return { kind: 'local', pick: { loaded: pick.loaded, fallbackFrom: wanted }, warm: wanted };
    }
    return { kind: 'load', version: wanted };
  }
  if (!forwarded) {
    const to = holderElsewhere(view, versionKey(model, wanted), selfId, inputs.random);
    if (to) return { kind: 'forward', version: wanted, ...to };
  }
  return { kind: 'load', version: wanted };
}

function holderElsewhere(view: ClusterView, key: string, selfId: string, random: number): { nodeId: string; address: string } | undefined {
  const others = view.holders(key).filter((id) => id !== selfId && view.address(id) !== undefined);
  if (others.length === 0) return undefined;
  const nodeId = others[Math.floor(random * others.length) % others.length]!;
  return { nodeId, address: view.address(nodeId)! };
}

/** What {@link DensityServing} needs from the node. */
export interface DensityServingOptions {
  nodeId: string;
  logger: Logger;
  metrics: DensityMetrics;
  table: () => RoutingTable;
  target: () => TargetState | undefined;
  view: ClusterView;
  /** Loads (or finds loading) a routed version here; many callers share one load (the reconciler). */
  demand: (model: string, version: string) => Promise<LoadedVersion>;
  forwarder: NodeForwarder;
  /** Longest a request without a deadline waits for a cold load. @default 60000 */
  maxColdWaitMs?: number;
}

/** Density's part of the inference path: where a request goes, forwarding, and waiting for a cold load. */
export class DensityServing {
  constructor(private readonly options: DensityServingOptions) {}

  /** Where the request goes; undefined: the plain path (the table's pick or its error). */
  resolve(call: grpc.ServerUnaryCall<ModelInferRequest, ModelInferResponse>, key: string | undefined): Resolution | undefined {
    const forwarded = call.metadata.get(FORWARDED_METADATA_KEY).length > 0;
    const hint = call.metadata.get(ROUTED_VERSION_METADATA_KEY)[0];
    const resolution = resolveRequest(call.request.model_name, call.request.model_version, {
      table: this.options.table(),
      target: this.options.target(),
      view: this.options.view,
      selfId: this.options.nodeId,
      forwarded,
      routedVersion: typeof hint === 'string' && hint !== '' ? hint : undefined,
      key,
      random: Math.random(),
    });
    if (resolution?.kind === 'local' && resolution.warm !== undefined) this.warm(call.request.model_name, resolution.warm);
    return resolution;
  }

  /** Starts loading a version without anyone waiting for it (a fallback served meanwhile, a shadow not held here). */
  warm(model: string, version: string): void {
    this.options.demand(model, version).catch(() => undefined);
  }

  /**
   * Forwards to the holder; when the holder cannot be reached (it died, or
   * dropped the version and is gone) and time is left, loads here instead.
   */
  async forward(call: grpc.ServerUnaryCall<ModelInferRequest, ModelInferResponse>, to: Extract<Resolution, { kind: 'forward' }>, trace?: RequestTrace): Promise<ModelInferResponse | LoadedVersion> {
    const { metrics, forwarder } = this.options;
    const request = call.request;
    try {
      const hop = trace && ((metadata: grpc.Metadata) => trace.hop(to.nodeId, to.address, metadata));
      const response = await forwarder.forward(to.address, request, request.model_version ? undefined : to.version, call.getDeadline(), hop);
      metrics.forwards.inc({ outcome: 'ok' });
      return response;
    } catch (err) {
      const error = SwitchyardError.from(err);
      if (error.code !== GrpcStatus.UNAVAILABLE || call.cancelled) {
        metrics.forwards.inc({ outcome: 'error' });
        throw error;
      }
      metrics.forwards.inc({ outcome: 'unreachable' });
      this.options.logger.warn('forwarding to the node holding the version failed; loading it here', { model: request.model_name, version: to.version, node: to.nodeId, error: error.rawMessage });
      return this.load(call, to.version, trace);
    }
  }

  /**
   * The version loaded here (a cold start), within the call's deadline: one
   * load however many requests wait. A deadline that passes first gets
   * DEADLINE_EXCEEDED saying the load goes on; a refused or failed load
   * UNAVAILABLE with the reason (another node may have room; clients retry).
   */
  async load(call: grpc.ServerUnaryCall<ModelInferRequest, ModelInferResponse>, version: string, trace?: RequestTrace): Promise<LoadedVersion> {
    const { metrics } = this.options;
    const model = call.request.model_name;
    const started = performance.now();
    const deadline = call.getDeadline();
    const deadlineMs = deadline instanceof Date ? deadline.getTime() : deadline;
    const capMs = this.options.maxColdWaitMs ?? 60_000;
    const leftMs = Number.isFinite(deadlineMs) ? Math.max(0, deadlineMs - Date.now()) : Number.POSITIVE_INFINITY;
    // A little before the deadline, so the caller gets this answer and its reason rather than grpc-js's bare one.
    const waitMs = Math.min(capMs, Math.max(0, leftMs - Math.min(50, leftMs / 10)));
    metrics.coldRequests.inc();
    let timer: NodeJS.Timeout | undefined;
    let onCancel: (() => void) | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new SwitchyardError(
              waitMs < capMs ? GrpcStatus.DEADLINE_EXCEEDED : GrpcStatus.UNAVAILABLE,
              `model '${model}' version '${version}' is not loaded on any node and was still loading on node ${this.options.nodeId} after ${Math.round(performance.now() - started)} ms ` +
                `(a cold start); the load goes on, so a retry soon will find it`,
            ),
          ),
        waitMs,
      );
      onCancel = () => reject(unavailable('the caller went away while the version was loading'));
      call.once('cancelled', onCancel);
    });
    try {
      const loaded = await Promise.race([this.options.demand(model, version), timeout]);
      const ended = performance.now();
      metrics.coldWaitSeconds.observe((ended - started) / 1000);
      trace?.coldLoad(version, started, ended);
      return loaded;
    } catch (err) {
      metrics.coldFailures.inc({ code: String(SwitchyardError.from(err).code) });
      trace?.coldLoad(version, started, performance.now(), err);
      throw err;
    } finally {
      clearTimeout(timer);
      if (onCancel) call.removeListener('cancelled', onCancel);
    }
  }
}
