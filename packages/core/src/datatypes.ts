/**
 * onnxruntime's names for tensor element types, spelled out here so that this
 * module (part of core's light root entry) needs no onnxruntime types.
 */
export type OrtTensorType =
  | 'bool'
  | 'uint8'
  | 'int8'
  | 'int16'
  | 'int32'
  | 'int64'
  | 'uint16'
  | 'uint32'
  | 'uint64'
  | 'float16'
  | 'float32'
  | 'float64'
  | 'string';

/** KServe v2 datatype names that Switchyard can serve. */
export const DATATYPES = ['BOOL', 'UINT8', 'INT8', 'INT16', 'INT32', 'INT64', 'UINT16', 'UINT32', 'UINT64', 'FP16', 'FP32', 'FP64', 'BYTES'] as const;
export type Datatype = (typeof DATATYPES)[number];
/** The datatypes whose elements all have one size: every one but BYTES. */
export type FixedDatatype = Exclude<Datatype, 'BYTES'>;

interface DatatypeInfo {
  ort: OrtTensorType;
  /** Bytes per element; 0 for BYTES, whose elements each carry their length. */
  bytes: number;
}

const INFO: Record<Datatype, DatatypeInfo> = {
  BOOL: { ort: 'bool', bytes: 1 },
  UINT8: { ort: 'uint8', bytes: 1 },
  INT8: { ort: 'int8', bytes: 1 },
  INT16: { ort: 'int16', bytes: 2 },
  INT32: { ort: 'int32', bytes: 4 },
  INT64: { ort: 'int64', bytes: 8 },
  UINT16: { ort: 'uint16', bytes: 2 },
  UINT32: { ort: 'uint32', bytes: 4 },
  UINT64: { ort: 'uint64', bytes: 8 },
  FP16: { ort: 'float16', bytes: 2 },
  FP32: { ort: 'float32', bytes: 4 },
  FP64: { ort: 'float64', bytes: 8 },
  BYTES: { ort: 'string', bytes: 0 },
};

const FROM_ORT = new Map<string, Datatype>(Object.entries(INFO).map(([dt, info]) => [info.ort, dt as Datatype]));

/**
 * Why element types that onnxruntime knows are not served. bfloat16: the
 * JavaScript API of onnxruntime-node has no bfloat16 tensor type, so the node
 * can neither feed such an input nor read such an output.
 */
const UNSERVED: Readonly<Record<string, string>> = {
  bfloat16:
    "BF16 (bfloat16) cannot be served: onnxruntime-node's JavaScript API has no bfloat16 tensor type, so the node could neither feed nor read it; " +
    'export the model with float16 or float32 at its inputs and outputs (a Cast node inside the graph keeps bfloat16 compute)',
};

export function isDatatype(name: string): name is Datatype {
  return Object.prototype.hasOwnProperty.call(INFO, name);
}

/** Whether every element of the datatype has the same size (all but BYTES). */
export function isFixedSize(datatype: Datatype): datatype is FixedDatatype {
  return datatype !== 'BYTES';
}

/** Bytes per element of a fixed-size datatype. */
export function elementBytes(datatype: FixedDatatype): number {
  return INFO[datatype].bytes;
}

/** The onnxruntime tensor type of a KServe datatype. */
export function toOrtType(datatype: Datatype): OrtTensorType {
  return INFO[datatype].ort;
}

/** The KServe datatype of an onnxruntime tensor type; undefined for types we do not serve (bfloat16, 4-bit, 8-bit floats). */
export function fromOrtType(type: string): Datatype | undefined {
  return FROM_ORT.get(type);
}

/** Why an onnxruntime element type is not served, when there is more to say than "not supported". */
export function unservedTypeReason(type: string): string | undefined {
  return UNSERVED[type];
}
