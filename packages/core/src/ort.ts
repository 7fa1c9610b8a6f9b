// '@switchyard/core/ort': KServe tensors and sample documents as onnxruntime tensors; loads onnxruntime's native binding.
export {
  type Feeds,
  decodeInputs,
  requestedOutputs,
  type EncodedOutput,
  encodeOutput,
} from './tensor-codec.js';
export {
  sampleTensorToOrt,
  sampleFeeds,
  tensorToSampleTensor,
} from './samples-ort.js';

