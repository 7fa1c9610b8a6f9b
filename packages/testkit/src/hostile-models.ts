import { encodeModel, floatTensor, int64Tensor, node, onnx, valueInfo } from './onnx-graph.js';

// Hostile models for the tests of the node's run and load limits and the
// control plane's validation: models that pass validation on zero inputs and then let a request choose
// how much work or memory a run takes (issue #14), and one whose session
// creation alone is heavy. For tests of the node's run and load limits.

/**
 * A Loop whose trip count is the request's INT64 input `count` [1]: FP32
 * output `acc` [1] equals `count` (one Add per iteration, ≈ 1.5 µs each on
 * the dev box). Zeros (validation, warm-up) finish at once; `count` = 1e12
 * runs for weeks. With `ballast`, a second input FP32 `ballast` [n] that the
 * graph never reads: a request as large as the test wants that runs as long
 * as its `count` says.
 */
export function loopCountModel({ ballast = false }: { ballast?: boolean } = {}): Uint8Array {
  const body = onnx.GraphProto.create({
    name: 'body',
    node: [node('Identity', ['cond_in'], ['cond_out']), node('Add', ['acc_in', 'one'], ['acc_out'])],
    initializer: [floatTensor('one', [1], [1])],
    input: [valueInfo('iter', 'INT64', []), valueInfo('cond_in', 'BOOL', []), valueInfo('acc_in', 'FP32', [1])],
    output: [valueInfo('cond_out', 'BOOL', []), valueInfo('acc_out', 'FP32', [1])],
  });
  const loop = node('Loop', ['n', '', 'acc0'], ['acc']);
  loop.attribute.push(onnx.AttributeProto.create({ name: 'body', type: onnx.AttributeProto.AttributeType.GRAPH, g: body }));
  return encodeModel({
    name: ballast ? 'ballast-loop' : 'loop-count',
    nodes: [node('Reshape', ['count', 'scalar'], ['n']), loop],
    initializers: [floatTensor('acc0', [1], [0]), int64Tensor('scalar', [0], [])],
    inputs: [valueInfo('count', 'INT64', [1]), ...(ballast ? [valueInfo('ballast', 'FP32', ['n'])] : [])],
    outputs: [valueInfo('acc', 'FP32', [1])],
  });
}

/**
 * ConstantOfShape sized by the request's INT64 input `shape` [2]: FP32
 * output `y` of that shape, all 1. Zeros give an empty tensor; [65536, 65536]
 * asks for 16 GiB.
 */
export function allocationModel(): Uint8Array {
  const fill = node('ConstantOfShape', ['shape'], ['y']);
  fill.attribute.push(onnx.AttributeProto.create({ name: 'value', type: onnx.AttributeProto.AttributeType.TENSOR, t: floatTensor('v', [1], [1]) }));
  return encodeModel({
    name: 'allocation',
    nodes: [fill],
    inputs: [valueInfo('shape', 'INT64', [2])],
    outputs: [valueInfo('y', 'FP32', ['a', 'b'])],
  });
}

/**
 * A small model whose session creation is heavy: onnxruntime folds a chain
 * of `n`×`n` MatMuls of constants (ConstantOfShape, so the file stays a few
 * hundred bytes) while creating the session. FP32 input `x` [1] → output `y`
 * [1] = x + (one element of the folded product). `depth` products of 512×512
 * take ≈ 0.1 s each on the dev box.
 */
export function slowLoadModel({ n = 512, depth = 40 }: { n?: number; depth?: number } = {}): Uint8Array {
  const fill = node('ConstantOfShape', ['dims'], ['m0']);
  fill.attribute.push(onnx.AttributeProto.create({ name: 'value', type: onnx.AttributeProto.AttributeType.TENSOR, t: floatTensor('v', [1], [0.001]) }));
  const chain = Array.from({ length: depth }, (_, k) => node('MatMul', [`m${k}`, 'm0'], [`m${k + 1}`]));
  return encodeModel({
    name: 'slow-load',
    nodes: [
      fill,
      ...chain,
      node('Slice', [`m${depth}`, 'zero2', 'one2'], ['corner']),
      node('Reshape', ['corner', 'shape1'], ['c']),
      node('Add', ['x', 'c'], ['y']),
    ],
    initializers: [int64Tensor('dims', [2], [n, n]), int64Tensor('zero2', [2], [0, 0]), int64Tensor('one2', [2], [1, 1]), int64Tensor('shape1', [1], [1])],
    inputs: [valueInfo('x', 'FP32', [1])],
    outputs: [valueInfo('y', 'FP32', [1])],
  });
}
