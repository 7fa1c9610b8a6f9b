// The ONNX graph writer lives in core ('@switchyard/core/onnx'), where the CLI's demo model is built too.
export { elemType, encodeModel, floatTensor, int64Tensor, node, onnx, valueInfo, type Dim, type GraphParts, type ModelDatatype } from '@switchyard/core/onnx';
