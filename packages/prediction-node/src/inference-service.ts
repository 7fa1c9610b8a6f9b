import type * as grpc from '@grpc/grpc-js';
import {
  BUILD_VERSION,
  invalidArgument,
  notFound,
  SwitchyardError,
  unavailable,
  type Logger,
  type ModelInferRequest,
  type ModelInferResponse,
  type ModelMetadataResponse,
} from '@switchyard/core';
import { decodeInputs, encodeOutput, requestedOutputs } from '@switchyard/core/ort';
import type { Tensor } from 'onnxruntime-node';
import type { DensityServing } from './density-serving.js';
import type { LoadedVersion } from './loaded-version.js';
import type { NodeMetrics } from './node-metrics.js';
import type { InFlightBytes } from './in-flight-bytes.js';
import type { CallCancel as CallCancelLike } from './version-queue.js';
import type { PrimaryInFlight } from './primary-in-flight.js';
import { knownModel, type RoutePick, type RoutingTable } from './routing-table.js';
import { inferParameters, type InferParameters } from './infer-parameters.js';
import { classifyOutput } from './output-classification.js';
import type { RequestTrace } from './tracing.js';

/** What the inference handlers need from the node. */
export interface InferenceServiceContext {
  nodeId: string;
  logger: Logger;
  metrics: NodeMetrics;
  /** The current routing table; read once per request. */
  table: () => RoutingTable;
  /** Whether the node has loaded its initial state and is not draining. */
  ready: () => boolean;
  /**
   * Called after the primary's response has been handed to gRPC, for an
   * unversioned request (one the route chose a version for); shadow
   * mirroring hooks in here. Must not throw and must not block.
   */
  afterPrimary?: (served: ServedRequest) => void;
  /** Counts calls between choosing a version and answering (shadow mirroring yields to them). */
  inFlight?: PrimaryInFlight;
  /** The node-wide budget of request and response bytes in flight. @default unbounded */
  inFlightBytes?: InFlightBytes;
  /** Model density (issue #16): versions not loaded here are forwarded or loaded on request. @default off: every routed version is loaded */
  density?: DensityServing;
  /** Child spans (queue, compute, hop) of traced requests (tracing.ts). @default off: no per-request cost */
  tracing?: { requestTrace(request: object): RequestTrace | undefined };
}

/** The label of refused requests whose model or version this node does not know: one series, not one per name sent. */
export const UNKNOWN_LABEL = 'unknown';

/**
 * Labels for a request refused before a version took it: names the node
 * knows (a routed model, a loaded version) keep their own series; any other
 * name is counted under {@link UNKNOWN_LABEL}, since callers choose names
 * freely and each new label pair is a series kept for the node's life.
 */
export function refusalLabels(table: RoutingTable, model: string, version: string): { model: string; version: string } {
  if (!knownModel(table, model)) return { model: UNKNOWN_LABEL, version: UNKNOWN_LABEL };
  return { model, version: version === '' || table.versions.has(`${model}/${version}`) ? version : UNKNOWN_LABEL };
}

/** Bytes a request's tensors hold: the raw contents, or typed contents at 8 bytes an element. */
export function requestBytes(request: ModelInferRequest): number {
  let bytes = 0;
  for (const raw of request.raw_input_contents ?? []) bytes += raw.byteLength;
  for (const input of request.inputs ?? []) {
    const c = input.contents;
    if (!c) continue;
    for (const values of Object.values(c)) {
      if (!Array.isArray(values)) continue;
      for (const v of values as unknown[]) bytes += v instanceof Uint8Array ? v.byteLength : 8;
    }
  }
  return bytes;
}

/** A request the primary answered, as {@link InferenceServiceContext.afterPrimary} sees it. */
export interface ServedRequest {
  readonly loaded: LoadedVersion;
  readonly request: ModelInferRequest;
  /** The decoded inputs; reuse them rather than decoding again. Do not modify. */
  readonly feeds: Record<string, Tensor>;
  readonly outputs: readonly string[];
  readonly results: Record<string, Tensor>;
  /** Primary latency in seconds. */
  readonly seconds: number;
}

/**
 * A call's cancellation, made cheap for runs that never leave the main
 * thread: one 'cancelled' listener (grpc-js emits it when a call ends in any
 * way, which is when the in-flight bytes are given back), and an
 * AbortController only when a run asks for a signal.
 */
class CallCancel implements CallCancelLike {
  private controller: AbortController | undefined;
  private ran = false;

  constructor(
    private readonly call: grpc.ServerUnaryCall<unknown, unknown>,
    private readonly ended: () => void,
  ) {
    call.once('cancelled', this.onCancelled);
  }

  get cancelled(): boolean {
    return this.call.cancelled;
  }

  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.call.cancelled && !this.ran) this.controller.abort();
    }
    return this.controller.signal;
  }

  done(): void {
    this.ran = true;
  }

  private readonly onCancelled = (): void => {
    this.ended();
    // Also emitted once a call has ended normally; aborting then would cost a DOMException for nothing.
    if (!this.ran) this.controller?.abort();
  };
}

type Unary<Req, Res> = (call: grpc.ServerUnaryCall<Req, Res>, callback: grpc.sendUnaryData<Res>) => void;

/** The request parameter whose string value makes the version choice sticky. */
export const ROUTING_KEY_PARAMETER = 'routing_key';

/** Finds the version that answers a request, or says precisely why none does. */
export function resolveVersion(table: RoutingTable, model: string, version: string): LoadedVersion {
  return resolvePick(table, model, version, undefined).loaded;
}

/**
 * Like {@link resolveVersion}, with the routing key of an unversioned
 * request, and says when the key's version was not READY (a fallback). An
 * explicit version bypasses the split.
 */
export function resolvePick(table: RoutingTable, model: string, version: string, routingKey: string | undefined): RoutePick {
  if (!model) throw SwitchyardError.from(notFound('model_name is empty; name the model to run'));
  if (version) {
    const loaded = table.versions.get(`${model}/${version}`);
    if (loaded) return { loaded, fallbackFrom: undefined };
    const served = [...table.versions.values()].filter((v) => v.model === model).map((v) => v.version);
    throw notFound(
      served.length > 0
        ? `version '${version}' of model '${model}' is not loaded on this node; loaded versions: ${served.join(', ')}`
        : `model '${model}' is not served by this node; check its route with 'switchyard status ${model}'`,
    );
  }
  const route = table.routes.get(model);
  const retiredAt = route ? undefined : table.retired?.get(model);
  if (retiredAt !== undefined) {
    throw notFound(`model '${model}' was retired at ${retiredAt} because none of its versions was used; ask its owner, or unretire a version and route to it`);
  }
  if (!route) throw notFound(`model '${model}' is not served by this node; check its route with 'switchyard status ${model}'`);
  return route.pick(routingKey);
}

/**
 * The request's `routing_key` parameter; undefined when absent.
 * @throws INVALID_ARGUMENT when it is not a string parameter.
 */
export function routingKeyOf(request: ModelInferRequest): string | undefined {
  const parameter = request.parameters?.[ROUTING_KEY_PARAMETER];
  if (parameter === undefined) return undefined;
  if (parameter.parameter_choice !== 'string_param' || typeof parameter.string_param !== 'string') {
    throw invalidArgument(`parameter '${ROUTING_KEY_PARAMETER}' must be a string_param; it is ${parameter.parameter_choice ?? 'empty'}`);
  }
  return parameter.string_param;
}

/** The KServe v2 GRPCInferenceService handlers. */
export function inferenceHandlers(ctx: InferenceServiceContext): grpc.UntypedServiceImplementation {
  const fail = (callback: grpc.sendUnaryData<never>, err: unknown): void => {
    callback(SwitchyardError.from(err).toServiceError() as grpc.ServiceError, null);
  };

  const modelInfer: Unary<ModelInferRequest, ModelInferResponse> = (call, callback) => {
    if (!ctx.density) return serve(call, callback, undefined);
    let resolution;
    try {
      resolution = ctx.density.resolve(call, routingKeyOf(call.request));
    } catch (err) {
      const labels = refusalLabels(ctx.table(), call.request.model_name, call.request.model_version);
      ctx.metrics.errors.inc({ ...labels, code: String(SwitchyardError.from(err).code) });
      return fail(callback, err);
    }
    if (resolution === undefined || resolution.kind === 'local') return serve(call, callback, resolution?.pick);
    const trace = ctx.tracing?.requestTrace(call.request);
    const served = resolution.kind === 'forward' ? ctx.density.forward(call, resolution, trace) : ctx.density.load(call, resolution.version, trace);
    served.then(
      (result) => ('session' in result ? serve(call, callback, { loaded: result, fallbackFrom: undefined }) : callback(null, result)),
      (err: unknown) => {
        ctx.metrics.errors.inc({ model: call.request.model_name, version: resolution.version, code: String(SwitchyardError.from(err).code) });
        fail(callback, err);
      },
    );
  };

  /** Runs the request on a version here: `preset` when density chose it, else the routing table's pick. */
  const serve = (call: grpc.ServerUnaryCall<ModelInferRequest, ModelInferResponse>, callback: grpc.sendUnaryData<ModelInferResponse>, preset: RoutePick | undefined): void => {
    const request = call.request;
    const started = performance.now();
    let loaded: LoadedVersion;
    let parameters: InferParameters;
    // Given back once the call has ended: after the response was handed to
    // the connection, or the stream closed ('cancelled' fires for both).
    let giveBack = (): void => undefined;
    try {
      const table = ctx.table();
      parameters = inferParameters(request);
      const key = parameters.routingKey;
      let pick = preset ?? resolvePick(table, request.model_name, request.model_version, key);
      if (ctx.inFlightBytes) giveBack = ctx.inFlightBytes.take(requestBytes(request));
      if (!pick.loaded.acquire()) {
        // Lost a race with an unload; the table has moved on already.
        try {
          pick = resolvePick(ctx.table(), request.model_name, request.model_version, key);
        } catch (err) {
          // With density the table may not have the model any more (evicted): UNAVAILABLE, which clients retry.
          if (ctx.density) throw unavailable(`model '${request.model_name}' version '${pick.loaded.version}' was unloaded from this node to make room; retry`);
          throw err;
        }
        if (!pick.loaded.acquire()) throw notFound(`model '${request.model_name}' is being unloaded; retry`);
      }
      loaded = pick.loaded;
      ctx.inFlight?.enter();
      if (pick.fallbackFrom !== undefined) ctx.metrics.countFallback(loaded.model, pick.fallbackFrom);
    } catch (err) {
      giveBack();
      const labels = refusalLabels(ctx.table(), request.model_name, request.model_version);
      ctx.metrics.errors.inc({ ...labels, code: String(SwitchyardError.from(err).code) });
      return fail(callback, err);
    }
    let outputs: string[];
    let feeds;
    try {
      feeds = decodeInputs(request, loaded.record.signature);
      outputs = requestedOutputs(request, loaded.record.signature);
    } catch (err) {
      loaded.release();
      ctx.inFlight?.leave();
      giveBack();
      ctx.metrics.errors.inc({ model: loaded.model, version: loaded.version, code: String(SwitchyardError.from(err).code) });
      return fail(callback, err);
    }
    // The queue and the session enforce the lesser of this and the version's limits.
    const deadline = call.getDeadline();
    const deadlineMs = deadline instanceof Date ? deadline.getTime() : deadline;
    // Triton's `timeout` parameter caps it like a shorter deadline.
    const remainingMs = Math.min(Number.isFinite(deadlineMs) ? Math.max(0, deadlineMs - Date.now()) : Number.POSITIVE_INFINITY, parameters.timeoutMs ?? Infinity);
    // One 'cancelled' listener per call: it gives the in-flight bytes back
    // and, only for runs that left the main thread and asked for a signal,
    // aborts them (a caller who has gone gets nothing computed for it).
    const cancel = new CallCancel(call, () => giveBack());
    loaded.queue.submit(feeds, outputs, { remainingMs, cancel, trace: ctx.tracing?.requestTrace(request) }).then(
      (results) => {
        cancel.done();
        loaded.release();
        ctx.inFlight?.leave();
        let answered: ServedRequest | undefined;
        try {
          const response: ModelInferResponse = {
            model_name: loaded.model,
            model_version: loaded.version,
            id: request.id,
            outputs: [],
            raw_output_contents: [],
          };
          let responseBytes = 0;
          for (const name of outputs) {
            const k = parameters.classification.get(name);
            const encoded = k === undefined ? encodeOutput(name, results[name]!) : classifyOutput(name, results[name]!, k);
            response.outputs.push(encoded.tensor);
            response.raw_output_contents.push(encoded.raw);
            responseBytes += encoded.raw.byteLength;
          }
          if (ctx.inFlightBytes && !call.cancelled) {
            // Counted until the client has read it: unread responses must not pile up past the budget either.
            const back = ctx.inFlightBytes.take(responseBytes);
            const forRequest = giveBack;
            giveBack = () => {
              forRequest();
              back();
            };
          }
          const seconds = (performance.now() - started) / 1000;
          loaded.stats.record(seconds);
          callback(null, response);
          if (ctx.afterPrimary && !request.model_version) answered = { loaded, request, feeds, outputs, results, seconds };
        } catch (err) {
          loaded.stats.recordError();
          ctx.metrics.errors.inc({ model: loaded.model, version: loaded.version, code: String(SwitchyardError.from(err).code) });
          fail(callback, err);
        }
        if (answered) {
          try {
            ctx.afterPrimary!(answered);
          } catch (err) {
            ctx.logger.error('after-primary hook failed; the caller already has its answer', { error: String(err) });
          }
        }
      },
      (err: Error) => {
        cancel.done();
        loaded.release();
        ctx.inFlight?.leave();
        loaded.stats.recordError();
        // onnxruntime rejects some inputs only at run time (an index out of range);
        // a SwitchyardError (UNAVAILABLE: the session's worker thread died) keeps its code.
        const error = err instanceof SwitchyardError ? err : invalidArgument(`the model rejected the input: ${err.message}`);
        ctx.metrics.errors.inc({ model: loaded.model, version: loaded.version, code: String(error.code) });
        fail(callback, error);
      },
    );
  };

  const modelMetadata: Unary<{ name: string; version: string }, ModelMetadataResponse> = (call, callback) => {
    try {
      const table = ctx.table();
      const loaded = resolveVersion(table, call.request.name, call.request.version);
      const versions = [...table.versions.values()].filter((v) => v.model === loaded.model).map((v) => v.version);
      const sig = loaded.record.signature;
      callback(null, {
        name: loaded.model,
        versions,
        platform: 'onnxruntime_onnx',
        inputs: sig.inputs.map((t) => ({ name: t.name, datatype: t.datatype, shape: t.shape })),
        outputs: sig.outputs.map((t) => ({ name: t.name, datatype: t.datatype, shape: t.shape })),
      });
    } catch (err) {
      fail(callback, err);
    }
  };

  return {
    ServerLive: ((_call, callback) => callback(null, { live: true })) as Unary<object, { live: boolean }>,
    ServerReady: ((_call, callback) => callback(null, { ready: ctx.ready() })) as Unary<object, { ready: boolean }>,
    ModelReady: ((call, callback) => {
      try {
        resolveVersion(ctx.table(), call.request.name, call.request.version);
        callback(null, { ready: true });
      } catch {
        callback(null, { ready: false });
      }
    }) as Unary<{ name: string; version: string }, { ready: boolean }>,
    ServerMetadata: ((_call, callback) =>
      callback(null, { name: ctx.nodeId, version: BUILD_VERSION, extensions: [] })) as Unary<object, object>,
    ModelMetadata: modelMetadata,
    ModelInfer: modelInfer,
  } as grpc.UntypedServiceImplementation;
}
