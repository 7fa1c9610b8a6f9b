import { Tensor } from 'onnxruntime-node';
import { fromOrtType, toOrtType, unservedTypeReason } from './datatypes.js';
import { halfToNumber, numberToHalf } from './float16.js';
import { invalidArgument } from './errors.js';
import { describeSpec, FLOAT_WORDS, jsonFloat, jsonInteger, type Sample, type SampleTensor, type SampleValue } from './samples.js';
import type { Signature } from './schemas.js';
import type { Feeds } from './tensor-codec.js';
import { zeroArray } from './tensor-raw.js';

// Sample documents as onnxruntime tensors: apart from samples.ts so that
// parsing and checking a document never loads onnxruntime's native binding.

/** Builds an onnxruntime tensor from a sample tensor (BigInt64Array for INT64, 0/1 bytes for BOOL, FP16 bits, strings for BYTES). */
export function sampleTensorToOrt(tensor: SampleTensor): Tensor {
  const { datatype, data } = tensor;
  if (datatype === 'BYTES') return new Tensor('string', data.map(String), tensor.shape.slice());
  const array = zeroArray(datatype, data.length) as unknown as unknown[];
  const wide = datatype === 'INT64' || datatype === 'UINT64';
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    if (wide) array[i] = BigInt(v as number | string);
    else if (datatype === 'FP16') array[i] = numberToHalf(typeof v === 'string' ? (FLOAT_WORDS[v] ?? Number(v)) : Number(v));
    else if (typeof v === 'boolean') array[i] = v ? 1 : 0;
    else if (typeof v === 'string') array[i] = FLOAT_WORDS[v] ?? Number(v);
    else array[i] = v;
  }
  return new Tensor(toOrtType(datatype), array as never, tensor.shape.slice());
}

/**
 * The onnxruntime feeds of a sample, in the signature's input order.
 * @throws INVALID_ARGUMENT when the sample lacks an input (call
 *   {@link checkSamplesAgainstSignature} first for the full check).
 */
export function sampleFeeds(sample: Sample, signature: Signature): Feeds {
  const feeds: Feeds = {};
  for (const spec of signature.inputs) {
    const tensor = sample.inputs[spec.name];
    if (!tensor) throw invalidArgument(`sample '${sample.name}' is missing input ${describeSpec(spec)}`);
    feeds[spec.name] = sampleTensorToOrt(tensor);
  }
  return feeds;
}

/**
 * A JSON-safe copy of an onnxruntime tensor: INT64/UINT64 as numbers while
 * exact, else decimal strings; BOOL as booleans; NaN and ±Infinity as strings.
 * FP16 as the numbers its bits stand for; BYTES as strings.
 * @throws INVALID_ARGUMENT for element types Switchyard does not serve (bfloat16).
 */
export function tensorToSampleTensor(tensor: Tensor): SampleTensor {
  const datatype = fromOrtType(tensor.type);
  if (!datatype) {
    throw invalidArgument(`a tensor of type ${tensor.type} cannot be recorded; ${unservedTypeReason(tensor.type) ?? 'Switchyard does not serve that type'}`);
  }
  if (datatype === 'BYTES') return { datatype, shape: tensor.dims.slice(), data: (tensor.data as string[]).slice() };
  const source = tensor.data as ArrayLike<number | bigint>;
  const data: SampleValue[] = new Array(source.length);
  for (let i = 0; i < source.length; i++) {
    const v = source[i]!;
    if (typeof v === 'bigint') data[i] = jsonInteger(v);
    else if (datatype === 'BOOL') data[i] = v !== 0;
    else if (datatype === 'FP16') data[i] = jsonFloat(halfToNumber(v));
    else data[i] = jsonFloat(v);
  }
  return { datatype, shape: tensor.dims.slice(), data };
}

