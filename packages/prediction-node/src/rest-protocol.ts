import { Buffer } from 'node:buffer';
import {
  invalidArgument,
  isDatatype,
  jsonToRaw,
  rawToJsonText,
  type InferParameter,
  type ModelInferRequest,
  type ModelInferResponse,
} from '@switchyard/core';

/**
 * The KServe v2 REST inference body, with Triton's binary tensor extension,
 * translated to and from the gRPC messages the inference handlers take: the
 * REST API is served by the same handlers, so routing, shadows, metrics and
 * limits cannot differ between the two.
 */

/** The header of Triton's binary tensor extension: how many leading bytes of the body are JSON. */
export const HEADER_LENGTH = 'inference-header-content-length';

/** A REST infer request as the handlers take it, and how the caller wants outputs back. */
export interface RestInferRequest {
  request: ModelInferRequest;
  /** `binary_data_output` on the request: every output as binary data. */
  binaryAll: boolean;
  /** Outputs asked for with `binary_data: true` (or false: JSON even when binaryAll). */
  binaryOutputs: ReadonlyMap<string, boolean>;
}

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A REST parameter value (a JSON scalar) as the protocol's InferParameter. */
export function toInferParameter(name: string, value: unknown): InferParameter {
  if (typeof value === 'string') return { parameter_choice: 'string_param', string_param: value };
  if (typeof value === 'boolean') return { parameter_choice: 'bool_param', bool_param: value };
  if (typeof value === 'number' && Number.isFinite(value)) {
    if (!Number.isInteger(value)) return { parameter_choice: 'double_param', double_param: value };
    return value >= 0 && value > Number.MAX_SAFE_INTEGER
      ? { parameter_choice: 'uint64_param', uint64_param: String(value) }
      : { parameter_choice: 'int64_param', int64_param: String(value) };
  }
  throw invalidArgument(`parameter '${name}' is ${JSON.stringify(value)}; parameters are strings, numbers or booleans`);
}

function parameters(where: string, raw: unknown): Record<string, InferParameter> {
  if (raw === undefined) return {};
  if (!isObject(raw)) throw invalidArgument(`${where} parameters must be an object`);
  return Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, toInferParameter(k, v)]));
}

/** Takes a boolean REST-only parameter out of a parameter object (it means nothing to the handlers). */
function take(params: Json | undefined, name: string): unknown {
  if (!params || !(name in params)) return undefined;
  const value = params[name];
  delete params[name];
  return value;
}

function shapeOf(name: string, raw: unknown): number[] {
  if (!Array.isArray(raw) || raw.some((d) => typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0)) {
    throw invalidArgument(`input '${name}' shape must be an array of non-negative integers; it is ${JSON.stringify(raw)}`);
  }
  return raw as number[];
}

/**
 * Parses a REST infer body: JSON, or with `headerLength` JSON followed by
 * the binary data of the inputs that set `binary_data_size`, in input order.
 * @throws INVALID_ARGUMENT naming what is wrong.
 */
export function parseInferBody(model: string, version: string, body: Buffer, headerLength: number | undefined): RestInferRequest {
  const jsonBytes = headerLength === undefined ? body : body.subarray(0, headerLength);
  if (headerLength !== undefined && (headerLength > body.byteLength || headerLength < 0)) {
    throw invalidArgument(`Inference-Header-Content-Length is ${headerLength} but the body has ${body.byteLength} bytes`);
  }
  let json: unknown;
  try {
    json = JSON.parse(jsonBytes.toString('utf8'));
  } catch (err) {
    throw invalidArgument(`the request body is not JSON: ${(err as Error).message}`);
  }
  if (!isObject(json)) throw invalidArgument('the request body must be a JSON object with "inputs"');
  if (!Array.isArray(json.inputs) || json.inputs.length === 0) throw invalidArgument('"inputs" must be a non-empty array of tensors');
  const requestParams = json.parameters === undefined ? undefined : isObject(json.parameters) ? { ...json.parameters } : undefined;
  if (json.parameters !== undefined && !requestParams) throw invalidArgument('request parameters must be an object');
  const binaryAll = take(requestParams, 'binary_data_output') === true;

  let offset = headerLength ?? body.byteLength;
  const inputs: ModelInferRequest['inputs'] = [];
  const raws: Uint8Array[] = [];
  for (const [i, rawInput] of (json.inputs as unknown[]).entries()) {
    if (!isObject(rawInput) || typeof rawInput.name !== 'string') throw invalidArgument(`inputs[${i}] must be an object with a "name"`);
    const name = rawInput.name;
    if (typeof rawInput.datatype !== 'string') throw invalidArgument(`input '${name}' needs a "datatype"`);
    const shape = shapeOf(name, rawInput.shape);
    const params = isObject(rawInput.parameters) ? { ...rawInput.parameters } : undefined;
    const binarySize = take(params, 'binary_data_size');
    if (binarySize !== undefined) {
      if (typeof binarySize !== 'number' || !Number.isSafeInteger(binarySize) || binarySize < 0) {
        throw invalidArgument(`input '${name}' binary_data_size must be a byte count; it is ${JSON.stringify(binarySize)}`);
      }
      if (headerLength === undefined) throw invalidArgument(`input '${name}' sets binary_data_size but the request has no Inference-Header-Content-Length header`);
      if (rawInput.data !== undefined) throw invalidArgument(`input '${name}' has both "data" and binary_data_size; send one of the two`);
      if (offset + binarySize > body.byteLength) {
        throw invalidArgument(`input '${name}' binary_data_size is ${binarySize} but only ${body.byteLength - offset} bytes of binary data remain`);
      }
      raws.push(body.subarray(offset, offset + binarySize));
      offset += binarySize;
    } else {
      if (rawInput.data === undefined) throw invalidArgument(`input '${name}' has no "data" (nor binary_data_size)`);
      if (!isDatatype(rawInput.datatype)) throw invalidArgument(`input '${name}' has datatype '${rawInput.datatype}', which Switchyard does not serve`);
      raws.push(jsonToRaw(name, rawInput.datatype, rawInput.data));
    }
    inputs.push({ name, datatype: rawInput.datatype, shape, parameters: parameters(`input '${name}'`, params) });
  }
  if (offset !== body.byteLength) throw invalidArgument(`${body.byteLength - offset} bytes of binary data follow the inputs' binary_data_size; the sizes must add up to the binary part`);

  const binaryOutputs = new Map<string, boolean>();
  const outputs: NonNullable<ModelInferRequest['outputs']> = [];
  if (json.outputs !== undefined) {
    if (!Array.isArray(json.outputs)) throw invalidArgument('"outputs" must be an array');
    for (const [i, rawOutput] of (json.outputs as unknown[]).entries()) {
      if (!isObject(rawOutput) || typeof rawOutput.name !== 'string') throw invalidArgument(`outputs[${i}] must be an object with a "name"`);
      const params = isObject(rawOutput.parameters) ? { ...rawOutput.parameters } : undefined;
      const binary = take(params, 'binary_data');
      if (binary !== undefined) binaryOutputs.set(rawOutput.name, binary === true);
      outputs.push({ name: rawOutput.name, parameters: parameters(`output '${rawOutput.name}'`, params) });
    }
  }
  const request: ModelInferRequest = {
    model_name: model,
    model_version: version,
    id: typeof json.id === 'string' ? json.id : '',
    parameters: parameters('request', requestParams),
    inputs,
    outputs,
    raw_input_contents: raws,
  };
  return { request, binaryAll, binaryOutputs };
}

/** A REST infer response body; `headerLength` set when binary data follows the JSON. */
export interface RestInferResponse {
  body: Buffer;
  headerLength: number | undefined;
}

/**
 * Renders a ModelInferResponse for REST: outputs as JSON `data`, or, when
 * asked, as binary data after the JSON (the raw bytes as the handler produced them).
 */
export function renderInferResponse(response: ModelInferResponse, asked: Pick<RestInferRequest, 'binaryAll' | 'binaryOutputs'>): RestInferResponse {
  const outputs: string[] = [];
  const binary: Uint8Array[] = [];
  response.outputs.forEach((output, i) => {
    const raw = response.raw_output_contents[i]!;
    const shape = output.shape.map(Number);
    const head = `"name":${JSON.stringify(output.name)},"datatype":${JSON.stringify(output.datatype)},"shape":${JSON.stringify(shape)}`;
    if (asked.binaryOutputs.get(output.name) ?? asked.binaryAll) {
      outputs.push(`{${head},"parameters":{"binary_data_size":${raw.byteLength}}}`);
      binary.push(raw);
    } else {
      const count = shape.reduce((a, b) => a * b, 1);
      outputs.push(`{${head},"data":${rawToJsonText(output.datatype as never, raw, count)}}`);
    }
  });
  const id = response.id ? `,"id":${JSON.stringify(response.id)}` : '';
  const json = Buffer.from(`{"model_name":${JSON.stringify(response.model_name)},"model_version":${JSON.stringify(response.model_version)}${id},"outputs":[${outputs.join(',')}]}`);
  if (binary.length === 0) return { body: json, headerLength: undefined };
  return { body: Buffer.concat([json, ...binary]), headerLength: json.byteLength };
}
