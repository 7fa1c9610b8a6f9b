import type * as grpc from '@grpc/grpc-js';
import { BUILD_VERSION, notFound, SwitchyardError, unimplemented } from '@switchyard/core';
import type { QueueStats } from './queue-metrics.js';
import type { RoutingTable } from './routing-table.js';
import type { LocalVersionState } from './version-states.js';

/**
 * Queue and batch figures of one version, beyond what {@link VersionStats}
 * counts. Filled by whatever queues or batches a version's requests (dynamic
 * batching, issue #17); until something does, statistics report the whole
 * request time as compute and every request as a run of its own.
 * Durations are cumulative nanoseconds.
 */
export interface VersionQueueFigures {
  /** Requests that waited in a queue, and their total wait. */
  queue: StatisticDuration;
  /** Model runs (one per batch) and their total time. */
  computeInfer: StatisticDuration;
  /** Per batch size (rows of the run): successful runs and their total times. */
  batches: ReadonlyMap<number, BatchDurations>;
  /** Requests answered, each counted by its rows (Triton's inference_count); the request count when absent. */
  inferences?: number;
}

/** Where queue and batch figures come from; undefined for a version with none. */
export interface QueueFiguresSource {
  figures(model: string, version: string): VersionQueueFigures | undefined;
}

/** Runs of one batch size: how many succeeded, and the cumulative nanoseconds of each part of them. */
export interface BatchDurations {
  count: number;
  /** Putting the requests' inputs together into the batch. */
  inputNs: number;
  /** The model's run. */
  inferNs: number;
  /** Splitting the batch's outputs among its requests. */
  outputNs: number;
}

/** A version queue's figures (issue #17) as Triton reports them; undefined when the queue timed no run (versions run on the main thread at once). */
export function queueFigures(q: QueueStats | undefined): VersionQueueFigures | undefined {
  if (!q || q.computeTime.count === 0) return undefined;
  const batches = new Map<number, BatchDurations>();
  for (const [size, b] of q.batches) batches.set(size, { count: b.count, inputNs: b.inputSeconds * 1e9, inferNs: b.inferSeconds * 1e9, outputNs: b.outputSeconds * 1e9 });
  return { queue: { count: q.queueTime.count, ns: q.queueTime.sum * 1e9 }, computeInfer: { count: q.computeTime.count, ns: q.computeTime.sum * 1e9 }, batches };
}

/** Triton's StatisticDuration: how many, and their cumulative nanoseconds. */
export interface StatisticDuration {
  count: number;
  ns: number;
}

/** What the extension handlers read from the node. */
export interface TritonExtensionsContext {
  nodeId: string;
  table: () => RoutingTable;
  /** Versions on this node with their state (loading, ready, unloading, failed). */
  states: () => readonly LocalVersionState[];
  queueFigures?: QueueFiguresSource;
  /** Extensions the node serves, for ServerMetadata (REST adds binary_tensor_data when it is on). */
  extensions: readonly string[];
}

/** Extensions every node serves (Triton's names). */
export const BASE_EXTENSIONS = ['classification', 'model_repository', 'statistics', 'parameters'] as const;

const duration = (d: StatisticDuration): { count: string; ns: string } => ({ count: String(d.count), ns: String(Math.round(d.ns)) });
const ZERO: StatisticDuration = { count: 0, ns: 0 };

/** Triton's ModelStatistics of one loaded version. */
export function versionStatistics(loaded: { model: string; version: string; stats: { requests: number; errors: number; latencySum: number; lastUsedMs: number } }, figures: VersionQueueFigures | undefined): object {
  const s = loaded.stats;
  const success: StatisticDuration = { count: s.requests, ns: s.latencySum * 1e9 };
  const computeInfer = figures?.computeInfer ?? success;
  const batches = figures ? [...figures.batches].sort(([a], [b]) => a - b) : [];
  return {
    name: loaded.model,
    version: loaded.version,
    last_inference: String(s.lastUsedMs),
    inference_count: String(figures?.inferences ?? s.requests),
    execution_count: String(figures ? figures.computeInfer.count : s.requests),
    inference_stats: {
      success: duration(success),
      // The node does not time failed requests; their count is exact, their time 0.
      fail: duration({ count: s.errors, ns: 0 }),
      queue: duration(figures?.queue ?? ZERO),
      compute_input: duration(ZERO),
      compute_infer: duration(computeInfer),
      compute_output: duration(ZERO),
    },
    batch_stats: batches.map(([size, d]) => ({
      batch_size: String(size),
      compute_input: duration({ count: d.count, ns: d.inputNs }),
      compute_infer: duration({ count: d.count, ns: d.inferNs }),
      compute_output: duration({ count: d.count, ns: d.outputNs }),
    })),
  };
}

type Unary<Req, Res> = (call: grpc.ServerUnaryCall<Req, Res>, callback: grpc.sendUnaryData<Res>) => void;

/**
 * Triton's extensions on the inference service: statistics, the repository
 * index of this node, and ServerMetadata listing them. Loading and unloading
 * stay with the control plane's admin API (target state decides what every
 * node loads), so RepositoryModelLoad/Unload answer UNIMPLEMENTED saying so.
 */
export function tritonExtensionHandlers(ctx: TritonExtensionsContext): grpc.UntypedServiceImplementation {
  const fail = (callback: grpc.sendUnaryData<never>, err: unknown): void => {
    callback(SwitchyardError.from(err).toServiceError() as grpc.ServiceError, null);
  };
  const repositoryRefusal = (what: 'load' | 'unload') =>
    unimplemented(
      `Switchyard nodes do not ${what} models on request: the control plane decides what every node serves. ` +
        `Use the admin API instead (switchyard deploy / switchyard route / switchyard retire, or the ModelAdmin gRPC service; docs/protocol.md)`,
    );
  return {
    ServerMetadata: ((_call, callback) => callback(null, serverMetadata(ctx))) as Unary<object, object>,
    ModelStatistics: ((call, callback) => {
      try {
        callback(null, { model_stats: modelStatistics(ctx, call.request.name, call.request.version) });
      } catch (err) {
        fail(callback, err);
      }
    }) as Unary<{ name: string; version: string }, object>,
    RepositoryIndex: ((call, callback) => callback(null, { models: repositoryIndex(ctx, call.request.ready) })) as Unary<{ ready: boolean }, object>,
    RepositoryModelLoad: ((_call, callback) => fail(callback, repositoryRefusal('load'))) as Unary<object, object>,
    RepositoryModelUnload: ((_call, callback) => fail(callback, repositoryRefusal('unload'))) as Unary<object, object>,
  } as grpc.UntypedServiceImplementation;
}

/** ServerMetadata: the node's id, the build, and the extensions served. */
export function serverMetadata(ctx: TritonExtensionsContext): { name: string; version: string; extensions: string[] } {
  return { name: ctx.nodeId, version: BUILD_VERSION, extensions: [...ctx.extensions] };
}

/**
 * Statistics of the loaded versions of one model (or of every model when
 * `name` is empty), or of one version.
 * @throws NOT_FOUND when the model or version is not loaded here.
 */
export function modelStatistics(ctx: TritonExtensionsContext, name: string, version: string): object[] {
  const loaded = [...ctx.table().versions.values()]
    .filter((v) => (!name || v.model === name) && (!version || v.version === version))
    .sort((a, b) => (a.model < b.model ? -1 : a.model > b.model ? 1 : a.version < b.version ? -1 : 1));
  if (name && loaded.length === 0) {
    throw notFound(version ? `version '${version}' of model '${name}' is not loaded on this node` : `model '${name}' has no version loaded on this node`);
  }
  return loaded.map((v) => versionStatistics(v, ctx.queueFigures?.figures(v.model, v.version)));
}

/** Triton's ModelIndex: one version and its state. */
export interface ModelIndex {
  name: string;
  version: string;
  state: string;
  reason: string;
}

/** Every version on this node with its state; only READY ones when `ready`. */
export function repositoryIndex(ctx: TritonExtensionsContext, ready: boolean): ModelIndex[] {
  return ctx
    .states()
    .filter((s) => !ready || s.state === 'READY')
    .map((s) => ({ name: s.model, version: s.version, state: s.state, reason: s.reason }));
}
