import {
  decodeContents,
  decodeRaw,
  encodeRaw,
  invalidArgument,
  isDatatype,
  type Datatype,
  type ModelInferResponse,
  type TypedArray,
} from '@switchyard/core';

/** One input tensor: its data as a typed array matching `datatype` (Float32Array for FP32, BigInt64Array for INT64, ...). */
export interface InputTensor {
  name: string;
  datatype: Datatype;
  shape: readonly number[];
  data: TypedArray;
}

/** One output tensor, decoded from the response's raw contents. */
export interface OutputTensor {
  name: string;
  datatype: Datatype;
  shape: number[];
  data: TypedArray;
}

/** Tensor fields and raw contents of a ModelInferRequest. */
export function encodeInputs(inputs: readonly InputTensor[]): {
  inputs: { name: string; datatype: string; shape: number[] }[];
  raw_input_contents: Uint8Array[];
} {
  for (const input of inputs) {
    const elements = input.shape.reduce((a, b) => a * b, 1);
    if (elements !== input.data.length) {
      throw invalidArgument(`input '${input.name}' has shape [${input.shape.join(', ')}] (${elements} elements) but ${input.data.length} values`);
    }
  }
  return {
    inputs: inputs.map((i) => ({ name: i.name, datatype: i.datatype, shape: [...i.shape] })),
    raw_input_contents: inputs.map((i) => encodeRaw(i.data)),
  };
}

/** The outputs of a response, keyed by name, each as a typed array with its shape. */
export function decodeOutputs(response: ModelInferResponse): Record<string, OutputTensor> {
  const outputs: Record<string, OutputTensor> = {};
  response.outputs.forEach((output, i) => {
    if (!isDatatype(output.datatype)) throw invalidArgument(`output '${output.name}' has unknown datatype ${output.datatype}`);
    const raw = response.raw_output_contents[i];
    const shape = output.shape.map(Number);
    // Copy: the raw buffer may be a view into a larger, unaligned gRPC frame.
    const data = raw !== undefined ? decodeRaw(output.datatype, Uint8Array.from(raw)) : decodeContents(output.datatype, output.contents ?? {});
    outputs[output.name] = { name: output.name, datatype: output.datatype, shape, data };
  });
  return outputs;
}
