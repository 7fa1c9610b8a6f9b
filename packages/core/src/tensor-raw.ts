import { Buffer } from 'node:buffer';
import { elementBytes, type Datatype, type FixedDatatype } from './datatypes.js';
import { invalidArgument } from './errors.js';
import type { InferTensorContents, Int64 } from './inference-types.js';

/** A typed array of one of the fixed-size datatypes (FP16 as its bits in a Uint16Array, as onnxruntime-node keeps it). */
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

/** The data of a tensor of any served datatype: a typed array, or one string per element for BYTES. */
export type TensorData = TypedArray | string[];

const ARRAY_OF: Record<FixedDatatype, { new (buffer: ArrayBufferLike, byteOffset: number, length: number): TypedArray; new (length: number): TypedArray }> = {
  BOOL: Uint8Array,
  UINT8: Uint8Array,
  INT8: Int8Array,
  INT16: Int16Array,
  INT32: Int32Array,
  INT64: BigInt64Array,
  UINT16: Uint16Array,
  UINT32: Uint32Array,
  UINT64: BigUint64Array,
  FP16: Uint16Array,
  FP32: Float32Array,
  FP64: Float64Array,
};

/** A typed view of raw little-endian bytes; copies only when the bytes are misaligned. */
export function viewRaw(datatype: FixedDatatype, raw: Uint8Array): TypedArray {
  const bytes = elementBytes(datatype);
  const Ctor = ARRAY_OF[datatype];
  if (raw.byteOffset % bytes === 0) return new Ctor(raw.buffer, raw.byteOffset, raw.byteLength / bytes);
  const copy = new Uint8Array(raw.byteLength);
  copy.set(raw);
  return new Ctor(copy.buffer, 0, raw.byteLength / bytes);
}

/** A zero-filled typed array (FP16 +0, BOOL false) of a fixed-size datatype. */
export function zeroArray(datatype: FixedDatatype, length: number): TypedArray {
  return new ARRAY_OF[datatype](length);
}

// BYTES elements become onnxruntime strings, which are UTF-8 on the way in;
// invalid UTF-8 is refused rather than silently replaced.
const UTF8 = new TextDecoder('utf-8', { fatal: true });

function utf8(bytes: Uint8Array, where: string): string {
  try {
    return UTF8.decode(bytes);
  } catch {
    throw invalidArgument(`${where} is not valid UTF-8; onnxruntime string tensors hold text, so BYTES elements must be UTF-8`);
  }
}

/**
 * The elements of BYTES raw contents: each a 4-byte little-endian length and
 * that many bytes (the KServe v2 / Triton layout).
 * @throws INVALID_ARGUMENT when the bytes do not split into exactly `count`
 *   elements, or an element is not UTF-8; `name` is the tensor's.
 */
export function decodeBytesRaw(raw: Uint8Array, count: number, name: string): string[] {
  const out: string[] = new Array(count);
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  let offset = 0;
  for (let i = 0; i < count; i++) {
    if (offset + 4 > raw.byteLength) {
      throw invalidArgument(`BYTES tensor '${name}' has raw contents for ${i} elements but its shape needs ${count}; each element is a 4-byte little-endian length and its bytes`);
    }
    const length = view.getUint32(offset, true);
    offset += 4;
    if (offset + length > raw.byteLength) {
      throw invalidArgument(`BYTES tensor '${name}' element ${i} declares ${length} bytes but only ${raw.byteLength - offset} remain in its raw contents`);
    }
    out[i] = utf8(raw.subarray(offset, offset + length), `BYTES tensor '${name}' element ${i}`);
    offset += length;
  }
  if (offset !== raw.byteLength) {
    throw invalidArgument(`BYTES tensor '${name}' has ${raw.byteLength - offset} bytes past its ${count} elements; the raw contents hold more elements than its shape`);
  }
  return out;
}

/** BYTES raw contents: each element as a 4-byte little-endian length and its UTF-8 bytes. */
export function encodeBytesRaw(values: readonly string[]): Buffer {
  const parts = values.map((v) => Buffer.from(v, 'utf8'));
  const out = Buffer.allocUnsafe(parts.reduce((n, p) => n + 4 + p.byteLength, 0));
  let offset = 0;
  for (const part of parts) {
    out.writeUInt32LE(part.byteLength, offset);
    part.copy(out, offset + 4);
    offset += 4 + part.byteLength;
  }
  return out;
}

function typedContents(datatype: FixedDatatype, contents: InferTensorContents): ArrayLike<number | boolean | Int64> {
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
    case 'FP16':
      // The protocol has no typed field for FP16 (nor does Triton accept one).
      throw invalidArgument('FP16 tensors have no typed contents field in the KServe v2 protocol; send them as raw contents (2 bytes per element, little-endian)');
    case 'FP32':
      return contents.fp32_contents ?? [];
    case 'FP64':
      return contents.fp64_contents ?? [];
  }
}

function fromContents(datatype: FixedDatatype, values: ArrayLike<number | boolean | Int64>): TypedArray {
  const out = new ARRAY_OF[datatype](values.length);
  const big = datatype === 'INT64' || datatype === 'UINT64';
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    (out as unknown as unknown[])[i] = big ? BigInt(v as Int64) : typeof v === 'boolean' ? Number(v) : Number(v);
  }
  return out;
}

/**
 * The data of a tensor sent as typed contents (the field that matches its
 * datatype) instead of raw bytes; KServe allows both, in requests and in
 * responses. INT64/UINT64 values are exact; BYTES elements are UTF-8 text.
 * @throws INVALID_ARGUMENT for FP16 (no typed field) and BYTES that are not UTF-8.
 */
export function decodeContents(datatype: Datatype, contents: InferTensorContents, name = 'tensor'): TensorData {
  if (datatype === 'BYTES') return (contents.bytes_contents ?? []).map((b, i) => utf8(b, `BYTES tensor '${name}' element ${i}`));
  return fromContents(datatype, typedContents(datatype, contents));
}

/** Decodes raw bytes back to tensor data (clients and tests); BYTES elements are counted from the bytes. */
export function decodeRaw(datatype: Datatype, raw: Uint8Array): TensorData {
  if (datatype === 'BYTES') return decodeBytesRaw(raw, countBytesElements(raw), 'tensor');
  return viewRaw(datatype, raw);
}

/** How many length-prefixed elements BYTES raw contents hold (stops at the first that does not fit). */
export function countBytesElements(raw: Uint8Array): number {
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  let count = 0;
  for (let offset = 0; offset + 4 <= raw.byteLength; count++) offset += 4 + view.getUint32(offset, true);
  return count;
}

/** Encodes tensor data as raw contents: little-endian bytes without a copy, or length-prefixed BYTES elements. */
export function encodeRaw(data: TensorData): Buffer {
  if (Array.isArray(data)) return encodeBytesRaw(data);
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}
