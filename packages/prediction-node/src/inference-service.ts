import type * as grpc from '@grpc/grpc-js';
import {
  BUILD_VERSION,
  decodeInputs,
  encodeOutput,
  invalidArgument,
  notFound,
  requestedOutputs,
  SwitchyardError,
  type Logger,
  type ModelInferRequest,
  type ModelInferResponse,
  type ModelMetadataResponse,
} from '@switchyard/core';
import type { LoadedVersion } from './loaded-version.js';
import type { NodeMetrics } from './node-metrics.js';
import type { RoutingTable } from './routing-table.js';

/** What the inference handlers need from the node. */
export interface InferenceServiceContext {
  nodeId: string;
  logger: Logger;
  metrics: NodeMetrics;
  /** The current routing table; read once per request. */
  table: () => RoutingTable;
  /** Whether the node has loaded its initial state and is not draining. */
  ready: () => boolean;
}

type Unary<Req, Res> = (call: grpc.ServerUnaryCall<Req, Res>, callback: grpc.sendUnaryData<Res>) => void;

/** Finds the version that answers a request, or says precisely why none does. */
export function resolveVersion(table: RoutingTable, model: string, version: string): LoadedVersion {
  if (!model) throw SwitchyardError.from(notFound('model_name is empty; name the model to run'));
  if (version) {
    const loaded = table.versions.get(`${model}/${version}`);
    if (loaded) return loaded;
    const served = [...table.versions.values()].filter((v) => v.model === model).map((v) => v.version);
    throw notFound(
      served.length > 0
        ? `version '${version}' of model '${model}' is not loaded on this node; loaded versions: ${served.join(', ')}`
        : `model '${model}' is not served by this node; check its route with 'switchyard status ${model}'`,
    );
  }
  const route = table.routes.get(model);
  if (!route) throw notFound(`model '${model}' is not served by this node; check its route with 'switchyard status ${model}'`);
  return route.pick();
}

/** The KServe v2 GRPCInferenceService handlers. */
export function inferenceHandlers(ctx: InferenceServiceContext): grpc.UntypedServiceImplementation {
  const fail = (callback: grpc.sendUnaryData<never>, err: unknown): void => {
    callback(SwitchyardError.from(err).toServiceError() as grpc.ServiceError, null);
  };

  const modelInfer: Unary<ModelInferRequest, ModelInferResponse> = (call, callback) => {
    const request = call.request;
    const started = performance.now();
    let loaded: LoadedVersion;
    try {
      loaded = resolveVersion(ctx.table(), request.model_name, request.model_version);
      if (!loaded.acquire()) {
        // Lost a race with an unload; the table has moved on already.
        loaded = resolveVersion(ctx.table(), request.model_name, request.model_version);
        if (!loaded.acquire()) throw notFound(`model '${request.model_name}' is being unloaded; retry`);
      }
    } catch (err) {
      ctx.metrics.errors.inc({ model: request.model_name, version: request.model_version, code: String(SwitchyardError.from(err).code) });
      return fail(callback, err);
    }
    let outputs: string[];
    let feeds;
    try {
      feeds = decodeInputs(request, loaded.record.signature);
      outputs = requestedOutputs(request, loaded.record.signature);
    } catch (err) {
      loaded.release();
      ctx.metrics.errors.inc({ model: loaded.model, version: loaded.version, code: String(SwitchyardError.from(err).code) });
      return fail(callback, err);
    }
    loaded.session.run(feeds, outputs).then(
      (results) => {
        loaded.release();
        try {
          const response: ModelInferResponse = {
            model_name: loaded.model,
            model_version: loaded.version,
            id: request.id,
            outputs: [],
            raw_output_contents: [],
          };
          for (const name of outputs) {
            const encoded = encodeOutput(name, results[name]!);
            response.outputs.push(encoded.tensor);
            response.raw_output_contents.push(encoded.raw);
          }
          loaded.stats.record((performance.now() - started) / 1000);
          callback(null, response);
        } catch (err) {
          ctx.metrics.errors.inc({ model: loaded.model, version: loaded.version, code: String(SwitchyardError.from(err).code) });
          fail(callback, err);
        }
      },
      (err: Error) => {
        loaded.release();
        // onnxruntime rejects some inputs only at run time (an index out of range).
        const error = invalidArgument(`the model rejected the input: ${err.message}`);
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
