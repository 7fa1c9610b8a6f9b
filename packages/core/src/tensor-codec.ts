import { Buffer } from 'node:buffer';
import { Tensor } from 'onnxruntime-node';
import { elementBytes, fromOrtType, isDatatype, toOrtType, unservedTypeReason, type Datatype } from './datatypes.js';
import { decodeBytesRaw, decodeContents, encodeBytesRaw, viewRaw, type TensorData, type TypedArray } from './tensor-raw.js';
import { internal, invalidArgument } from './errors.js';
import type { InferInputTensor, ModelInferRequest } from './inference-types.js';
import type { Signature, TensorSpec } from './schemas.js';

/** Feeds for onnxruntime, keyed by input name. */
export type Feeds = Record<string, Tensor>;

function describe(spec: TensorSpec): string {
  return `${spec.name} (${spec.datatype} [${spec.shape.join(',')}])`;
}

function toShape(input: InferInputTensor): number[] {
  return input.shape.map((d) => Number(d));
}

function checkShape(input: InferInputTensor, spec: TensorSpec, shape: number[]): number {
  if (shape.length !== spec.shape.length) {
    throw invalidArgument(
      `input '${input.name}' has shape [${shape.join(',')}] but the model expects rank ${spec.shape.length}: ${describe(spec)}`,
    );
  }
  let count = 1;
  for (let i = 0; i < shape.length; i++) {
    const dim = shape[i]!;
    const expected = spec.shape[i]!;
    if (!Number.isSafeInteger(dim) || dim < 0) {
      throw invalidArgument(`input '${input.name}' has an invalid dimension ${String(input.shape[i])} at axis ${i}`);
    }
    if (expected >= 0 && dim !== expected) {
      throw invalidArgument(
        `input '${input.name}' has shape [${shape.join(',')}] but axis ${i} must be ${expected}: ${describe(spec)}`,
      );
    }
    count *= dim;
  }
  return count;
}

/**
 * Turns the inputs of a ModelInferRequest into onnxruntime feeds, checking
 * them against the version's signature. Every rejection is INVALID_ARGUMENT
 * naming the offending input and what the model expects.
 */
export function decodeInputs(request: ModelInferRequest, signature: Signature): Feeds {
  const inputs = request.inputs;
  const raw = request.raw_input_contents;
  const useRaw = raw.length > 0;
  if (useRaw && raw.length !== inputs.length) {
    throw invalidArgument(
      `raw_input_contents has ${raw.length} entries but the request names ${inputs.length} inputs; send one entry per input, in order`,
    );
  }
  const feeds: Feeds = {};
  for (let i = 0; i < inputs.length; i++) {
    const input = inputs[i]!;
    const spec = signature.inputs.find((s) => s.name === input.name);
    if (!spec) {
      throw invalidArgument(
        `unknown input '${input.name}'; the model takes ${signature.inputs.map(describe).join(', ')}`,
      );
    }
    if (feeds[input.name]) throw invalidArgument(`input '${input.name}' is given twice`);
    if (input.datatype !== spec.datatype) {
      const served = isDatatype(input.datatype) ? '' : ' (not a datatype Switchyard serves)';
      throw invalidArgument(`input '${input.name}' has datatype '${input.datatype}'${served} but the model expects ${describe(spec)}`);
    }
    const shape = toShape(input);
    const count = checkShape(input, spec, shape);
    let data: TensorData;
    if (useRaw) {
      if (input.contents && Object.values(input.contents).some((v) => Array.isArray(v) && v.length > 0)) {
        throw invalidArgument(`input '${input.name}' has typed contents and raw_input_contents is also set; use one of the two`);
      }
      const bytes = raw[i]!;
      if (spec.datatype === 'BYTES') {
        data = decodeBytesRaw(bytes, count, input.name);
      } else {
        const expected = count * elementBytes(spec.datatype);
        if (bytes.byteLength !== expected) {
          throw invalidArgument(
            `input '${input.name}' has ${bytes.byteLength} raw bytes but shape [${shape.join(',')}] of ${spec.datatype} needs ${expected}`,
          );
        }
        data = viewRaw(spec.datatype, bytes);
      }
    } else {
      data = decodeContents(spec.datatype, input.contents ?? {}, input.name);
      if (data.length !== count) {
        throw invalidArgument(
          `input '${input.name}' has ${data.length} values in contents but shape [${shape.join(',')}] needs ${count}`,
        );
      }
    }
    feeds[input.name] = new Tensor(toOrtType(spec.datatype), data as never, shape);
  }
  for (const spec of signature.inputs) {
    if (!feeds[spec.name]) throw invalidArgument(`missing input ${describe(spec)}`);
  }
  return feeds;
}

/** Output names to fetch: the requested ones (checked), or all. */
export function requestedOutputs(request: ModelInferRequest, signature: Signature): string[] {
  const requested = request.outputs ?? [];
  if (requested.length === 0) return signature.outputs.map((o) => o.name);
  return requested.map((o) => {
    if (!signature.outputs.some((s) => s.name === o.name)) {
      throw invalidArgument(
        `unknown output '${o.name}'; the model produces ${signature.outputs.map(describe).join(', ')}`,
      );
    }
    return o.name;
  });
}

/** One encoded output: its metadata and its raw little-endian bytes. */
export interface EncodedOutput {
  tensor: { name: string; datatype: Datatype; shape: number[] };
  raw: Buffer;
}

/** Encodes an onnxruntime output tensor as raw contents, without copying the data of fixed-size types. */
export function encodeOutput(name: string, tensor: Tensor): EncodedOutput {
  const datatype = fromOrtType(tensor.type);
  if (!datatype) {
    throw internal(`output '${name}' has type ${tensor.type}, which Switchyard cannot return${unservedTypeReason(tensor.type) ? `: ${unservedTypeReason(tensor.type)}` : ''}`);
  }
  const shape = tensor.dims.slice();
  if (datatype === 'BYTES') return { tensor: { name, datatype, shape }, raw: encodeBytesRaw(tensor.data as string[]) };
  const data = tensor.data as TypedArray;
  return { tensor: { name, datatype, shape }, raw: Buffer.from(data.buffer, data.byteOffset, data.byteLength) };
}
