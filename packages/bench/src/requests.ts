/** Pre-encoded requests for the load clients, and checks of what came back. */
import type * as grpc from '@grpc/grpc-js';
import { decodeRaw, encodeRaw, type ModelInferResponse } from '@switchyard/core';
import { inferenceService } from '@switchyard/core/grpc';
import type { CallSpec } from './load-protocol.js';

export const MODEL_INFER_PATH = '/inference.GRPCInferenceService/ModelInfer';
export const SERVER_LIVE_PATH = '/inference.GRPCInferenceService/ServerLive';
export const HEALTH_CHECK_PATH = '/grpc.health.v1.Health/Check';

function method(name: string): grpc.MethodDefinition<object, object> {
  const def = inferenceService().service[name];
  if (!def) throw new Error(`no method ${name} in the inference service`);
  return def as grpc.MethodDefinition<object, object>;
}

/** A ModelInfer call with one FP32 input as raw contents. */
export function inferCall(label: string, model: string, input: { name: string; shape: number[]; data: Float32Array }): CallSpec {
  const request = {
    model_name: model,
    model_version: '',
    inputs: [{ name: input.name, datatype: 'FP32', shape: input.shape }],
    raw_input_contents: [encodeRaw(input.data)],
  };
  return { label, path: MODEL_INFER_PATH, requestBase64: method('ModelInfer').requestSerialize(request).toString('base64') };
}

/** ServerLive and grpc.health.v1 Check (service ""): both requests encode to zero bytes. */
export const serverLiveCall = (): CallSpec => ({ label: 'serverLive', path: SERVER_LIVE_PATH, requestBase64: '' });
export const healthCheckCall = (): CallSpec => ({ label: 'health', path: HEALTH_CHECK_PATH, requestBase64: '' });

/** Decodes a ModelInfer response and returns output `name` as numbers. */
export function inferOutput(responseBase64: string, name: string): number[] {
  const response = method('ModelInfer').responseDeserialize(Buffer.from(responseBase64, 'base64')) as ModelInferResponse;
  const i = response.outputs.findIndex((o) => o.name === name);
  const raw = response.raw_output_contents[i];
  if (i < 0 || !raw) throw new Error(`response has no raw output '${name}'`);
  return Array.from(decodeRaw('FP32', raw) as Float32Array);
}

/** Throws unless `actual` matches `expected` within FP32 rounding. */
export function checkClose(what: string, actual: number[], expected: number[]): void {
  const ok = actual.length === expected.length && actual.every((v, i) => Math.abs(v - expected[i]!) <= 1e-4 * Math.max(1, Math.abs(expected[i]!)));
  if (!ok) throw new Error(`${what}: expected [${expected.join(', ')}], got [${actual.join(', ')}]`);
}

/** The model_version a ModelInfer response says answered it. */
export function inferVersion(responseBase64: string): string {
  const response = method('ModelInfer').responseDeserialize(Buffer.from(responseBase64, 'base64')) as ModelInferResponse;
  return response.model_version;
}
