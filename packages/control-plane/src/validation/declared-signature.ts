import type { onnx as OnnxTypes } from 'onnx-proto';
import { onnx } from '@switchyard/core/onnx';
import type { TensorMeta } from './validation-protocol.js';

// onnx TensorProto.DataType codes to onnxruntime's element type names, so a
// declared type goes through the same check as one onnxruntime reports.
const ORT_TYPE_NAMES: Readonly<Record<number, string>> = {
  1: 'float32',
  2: 'uint8',
  3: 'int8',
  4: 'uint16',
  5: 'int16',
  6: 'int32',
  7: 'int64',
  8: 'string',
  9: 'bool',
  10: 'float16',
  11: 'float64',
  12: 'uint32',
  13: 'uint64',
  16: 'bfloat16',
};

function toNumber(value: unknown): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'object' && value !== null && 'toNumber' in value) return (value as { toNumber(): number }).toNumber();
  return Number(value);
}

type ModelProto = OnnxTypes.ModelProto;
type ValueInfoProto = OnnxTypes.IValueInfoProto;
type DimProto = OnnxTypes.TensorShapeProto.IDimension;

function describe(info: ValueInfoProto): TensorMeta {
  const name = info.name ?? '';
  const tensor = info.type?.tensorType;
  if (!tensor) return { name, isTensor: false };
  const code = toNumber(tensor.elemType ?? 0);
  const shape = (tensor.shape?.dim ?? []).map((dim: DimProto): number | string => {
    if (dim.dimParam) return dim.dimParam;
    return dim.dimValue !== undefined && dim.dimValue !== null ? toNumber(dim.dimValue) : '';
  });
  return { name, isTensor: true, type: ORT_TYPE_NAMES[code] ?? `onnx element type ${code}`, shape };
}

/**
 * The inputs and outputs a model's protobuf declares, read without
 * onnxruntime: known even when opening the model never finishes (a load that
 * hits the memory or time limit), so such a version can still be recorded
 * REJECTED with a signature. Initializers listed as inputs are not inputs, as
 * in onnxruntime. Undefined when the bytes are not an ONNX model with a graph.
 */
export function declaredMetadata(bytes: Uint8Array): { inputs: TensorMeta[]; outputs: TensorMeta[] } | undefined {
  let model: ModelProto;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch {
    return undefined;
  }
  const graph = model.graph;
  if (!graph) return undefined;
  const initializers = new Set((graph.initializer ?? []).map((i: { name?: string | null }) => i.name));
  return {
    inputs: (graph.input ?? []).filter((i: ValueInfoProto) => !initializers.has(i.name)).map(describe),
    outputs: (graph.output ?? []).map(describe),
  };
}
