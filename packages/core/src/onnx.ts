// '@switchyard/core/onnx': writes small ONNX models (the demo model, tests' models); loads onnx-proto's protobuf code.
export { elemType, encodeModel, floatTensor, int64Tensor, node, onnx, valueInfo, type Dim, type GraphParts, type ModelDatatype } from './onnx-graph.js';
export { expectedLinear, linearModel, type LinearModelOptions } from './onnx-linear.js';
