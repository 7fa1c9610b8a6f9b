/**
 * onnxruntime's names for tensor element types, spelled out here so that this
 * module (part of core's light root entry) needs no onnxruntime types.
 */
export type OrtTensorType = 'bool' | 'uint8' | 'int8' | 'int16' | 'int32' | 'int64' | 'uint16' | 'uint32' | 'uint64' | 'float32' | 'float64';

/** KServe v2 datatype names that Switchyard can serve. */
export const DATATYPES = ['BOOL', 'UINT8', 'INT8', 'INT16', 'INT32', 'INT64', 'UINT16', 'UINT32', 'UINT64', 'FP32', 'FP64'] as const;
export type Datatype = (typeof DATATYPES)[number];

interface DatatypeInfo {
  ort: OrtTensorType;
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
  FP32: { ort: 'float32', bytes: 4 },
  FP64: { ort: 'float64', bytes: 8 },
};

const FROM_ORT = new Map<string, Datatype>(Object.entries(INFO).map(([dt, info]) => [info.ort, dt as Datatype]));

export function isDatatype(name: string): name is Datatype {
  return Object.prototype.hasOwnProperty.call(INFO, name);
}

/** Bytes per element of a datatype. */
export function elementBytes(datatype: Datatype): number {
  return INFO[datatype].bytes;
}

/** The onnxruntime tensor type of a KServe datatype. */
export function toOrtType(datatype: Datatype): OrtTensorType {
  return INFO[datatype].ort;
}

/** The KServe datatype of an onnxruntime tensor type; undefined for types we do not serve (string, float16). */
export function fromOrtType(type: string): Datatype | undefined {
  return FROM_ORT.get(type);
}
