import onnxProto from 'onnx-proto';
import type { onnx as OnnxTypes } from 'onnx-proto';

const { onnx } = onnxProto;

/** The ONNX protobuf namespace, for building graphs by hand. */
export { onnx };

/** Tensor element types the testkit models use, named as in the KServe v2 protocol. */
export type ModelDatatype = 'FP16' | 'FP32' | 'FP64' | 'INT32' | 'INT64' | 'BOOL' | 'BYTES';

/** A dimension: a fixed size, or a symbolic name such as `batch`. */
export type Dim = number | string;

const ELEM_TYPE: Record<ModelDatatype, OnnxTypes.TensorProto.DataType> = {
  FP16: onnx.TensorProto.DataType.FLOAT16,
  FP32: onnx.TensorProto.DataType.FLOAT,
  FP64: onnx.TensorProto.DataType.DOUBLE,
  INT32: onnx.TensorProto.DataType.INT32,
  INT64: onnx.TensorProto.DataType.INT64,
  BOOL: onnx.TensorProto.DataType.BOOL,
  BYTES: onnx.TensorProto.DataType.STRING,
};

/** ONNX `TensorProto.DataType` code of a datatype. */
export function elemType(datatype: ModelDatatype): OnnxTypes.TensorProto.DataType {
  return ELEM_TYPE[datatype];
}

/** Graph input/output declaration of a tensor. */
export function valueInfo(name: string, datatype: ModelDatatype, dims: readonly Dim[]): OnnxTypes.ValueInfoProto {
  return onnx.ValueInfoProto.create({
    name,
    type: {
      tensorType: {
        elemType: elemType(datatype),
        shape: { dim: dims.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d })) },
      },
    },
  });
}

/**
 * FP32 initializer. Stored as little-endian `rawData` (what ONNX mandates)
 * because repeated `floatData` is slow to encode for multi-megabyte weights.
 */
export function floatTensor(name: string, dims: readonly number[], values: ArrayLike<number>): OnnxTypes.TensorProto {
  const bytes = new Uint8Array(values.length * 4);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i]!, true);
  return onnx.TensorProto.create({ name, dims: [...dims], dataType: onnx.TensorProto.DataType.FLOAT, rawData: bytes });
}

/** INT64 initializer (values must be safe integers). */
export function int64Tensor(name: string, dims: readonly number[], values: readonly number[]): OnnxTypes.TensorProto {
  return onnx.TensorProto.create({ name, dims: [...dims], dataType: onnx.TensorProto.DataType.INT64, int64Data: [...values] });
}

/** One graph node; `attributes` maps names to INT attribute values. */
export function node(
  opType: string,
  input: string[],
  output: string[],
  attributes: Record<string, number> = {},
): OnnxTypes.NodeProto {
  return onnx.NodeProto.create({
    opType,
    input,
    output,
    name: `${opType}_${output.join('_')}`,
    attribute: Object.entries(attributes).map(([name, i]) =>
      onnx.AttributeProto.create({ name, type: onnx.AttributeProto.AttributeType.INT, i }),
    ),
  });
}

/** Parts of a graph, in the shape `GraphProto.create` wants them. */
export interface GraphParts {
  name: string;
  nodes: OnnxTypes.NodeProto[];
  initializers?: OnnxTypes.TensorProto[];
  inputs: OnnxTypes.ValueInfoProto[];
  outputs: OnnxTypes.ValueInfoProto[];
}

/**
 * Serialises a graph as an opset-13 model (IR version 7, which every current
 * onnxruntime loads); `mlOpset` also imports the ai.onnx.ml domain (LabelEncoder needs 2).
 */
export function encodeModel(parts: GraphParts & { mlOpset?: number }): Uint8Array {
  const graph = onnx.GraphProto.create({
    name: parts.name,
    node: parts.nodes,
    initializer: parts.initializers ?? [],
    input: parts.inputs,
    output: parts.outputs,
  });
  const model = onnx.ModelProto.create({
    irVersion: 7,
    opsetImport: [{ domain: '', version: 13 }, ...(parts.mlOpset !== undefined ? [{ domain: 'ai.onnx.ml', version: parts.mlOpset }] : [])],
    graph,
    producerName: 'switchyard-testkit',
  });
  return onnx.ModelProto.encode(model).finish();
}
