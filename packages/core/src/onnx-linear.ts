import { encodeModel, floatTensor, node, valueInfo } from './onnx-graph.js';

/** Options for {@link linearModel}. */
export interface LinearModelOptions {
  /** One weight per input feature; the input has `weights.length` columns. */
  weights: number[];
  bias: number;
  /** Input name (default `x`). */
  inputName?: string;
  /** Output name (default `y`). */
  outputName?: string;
}

/**
 * Linear regression: FP32 input `x` [batch, weights.length] → FP32 output
 * `y` [batch, 1] with `y[r][0] = Σ_j x[r][j]·weights[j] + bias`
 * (see {@link expectedLinear}).
 */
export function linearModel({ weights, bias, inputName = 'x', outputName = 'y' }: LinearModelOptions): Uint8Array {
  if (weights.length === 0) throw new Error('linearModel: weights must not be empty');
  return encodeModel({
    name: 'linear',
    nodes: [node('MatMul', [inputName, 'W'], ['mm']), node('Add', ['mm', 'B'], [outputName])],
    initializers: [floatTensor('W', [weights.length, 1], weights), floatTensor('B', [1], [bias])],
    inputs: [valueInfo(inputName, 'FP32', ['batch', weights.length])],
    outputs: [valueInfo(outputName, 'FP32', ['batch', 1])],
  });
}

/** What {@link linearModel} outputs for `rows`: one `x·w + b` per row (the `y` tensor flattened). */
export function expectedLinear(weights: number[], bias: number, rows: number[][]): number[] {
  return rows.map((row) => row.reduce((sum, x, j) => sum + x * (weights[j] ?? 0), bias));
}
