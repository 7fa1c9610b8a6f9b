import {
  decodeBytesRaw,
  decodeContents,
  decodeRaw,
  encodeRaw,
  invalidArgument,
  isDatatype,
  type Datatype,
  type ModelInferResponse,
  type TensorData,
} from '@switchyard/core';

/**
 * One input tensor: its data as a typed array matching `datatype`
 * (Float32Array for FP32, BigInt64Array for INT64, the bits in a Uint16Array
 * for FP16: see `numbersToHalves`), or one string per element for BYTES.
 */
export interface InputTensor {
  name: string;
  datatype: Datatype;
  shape: readonly number[];
  data: TensorData;
}

/** One output tensor, decoded from the response's raw contents (FP16 as bits: see `halvesToNumbers`; BYTES as strings). */
export interface OutputTensor {
  name: string;
  datatype: Datatype;
  shape: number[];
  data: TensorData;
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
    let data: TensorData;
    if (raw === undefined) data = decodeContents(output.datatype, output.contents ?? {}, output.name);
    else if (output.datatype === 'BYTES') data = decodeBytesRaw(raw, shape.reduce((a, b) => a * b, 1), output.name);
    else data = decodeRaw(output.datatype, Uint8Array.from(raw));
    outputs[output.name] = { name: output.name, datatype: output.datatype, shape, data };
  });
  return outputs;
}
