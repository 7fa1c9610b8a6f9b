import { Buffer } from 'node:buffer';
import { elementBytes, type Datatype } from './datatypes.js';
import type { InferTensorContents, Int64 } from './inference-types.js';

/** A typed array of one of the served datatypes. */
export type TypedArray =
  | Float32Array
  | Float64Array
  | Int8Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array;

const ARRAY_OF: Record<Datatype, { new (buffer: ArrayBufferLike, byteOffset: number, length: number): TypedArray; new (length: number): TypedArray }> = {
  BOOL: Uint8Array,
  UINT8: Uint8Array,
  INT8: Int8Array,
  INT16: Int16Array,
  INT32: Int32Array,
  INT64: BigInt64Array,
  UINT16: Uint16Array,
  UINT32: Uint32Array,
  UINT64: BigUint64Array,
  FP32: Float32Array,
  FP64: Float64Array,
};

/** A typed view of raw little-endian bytes; copies only when the bytes are misaligned. */
export function viewRaw(datatype: Datatype, raw: Uint8Array): TypedArray {
  const bytes = elementBytes(datatype);
  const Ctor = ARRAY_OF[datatype];
  if (raw.byteOffset % bytes === 0) return new Ctor(raw.buffer, raw.byteOffset, raw.byteLength / bytes);
  const copy = new Uint8Array(raw.byteLength);
  copy.set(raw);
  return new Ctor(copy.buffer, 0, raw.byteLength / bytes);
}

function typedContents(datatype: Datatype, contents: InferTensorContents): ArrayLike<number | boolean | Int64> {
  switch (datatype) {
    case 'BOOL':
      return contents.bool_contents ?? [];
    case 'INT8':
    case 'INT16':
    case 'INT32':
      return contents.int_contents ?? [];
    case 'INT64':
      return contents.int64_contents ?? [];
    case 'UINT8':
    case 'UINT16':
    case 'UINT32':
      return contents.uint_contents ?? [];
    case 'UINT64':
      return contents.uint64_contents ?? [];
    case 'FP32':
      return contents.fp32_contents ?? [];
    case 'FP64':
      return contents.fp64_contents ?? [];
  }
}

function fromContents(datatype: Datatype, values: ArrayLike<number | boolean | Int64>): TypedArray {
  const out = new ARRAY_OF[datatype](values.length);
  const big = datatype === 'INT64' || datatype === 'UINT64';
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    (out as unknown as unknown[])[i] = big ? BigInt(v as Int64) : typeof v === 'boolean' ? Number(v) : Number(v);
  }
  return out;
}

/**
 * The typed array of a tensor sent as typed contents (the field that matches
 * its datatype) instead of raw bytes; KServe allows both, in requests and in
 * responses. INT64/UINT64 values are exact.
 */
export function decodeContents(datatype: Datatype, contents: InferTensorContents): TypedArray {
  return fromContents(datatype, typedContents(datatype, contents));
}

/** Decodes raw output bytes back to a typed array (clients and tests). */
export function decodeRaw(datatype: Datatype, raw: Uint8Array): TypedArray {
  return viewRaw(datatype, raw);
}

/** Encodes a typed array as raw little-endian bytes (clients and tests). */
export function encodeRaw(data: TypedArray): Buffer {
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

