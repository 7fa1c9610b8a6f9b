/**
 * Whether a model's run cost is fixed by the shapes of its inputs alone,
 * the rule that decides which runs may stay on a thread that cannot be
 * stopped (docs/design.md, "Run limits"). A run on the main thread or in a
 * worker thread cannot be interrupted: onnxruntime-node offers no way to
 * stop a run in progress, and a worker thread inside a native run ignores
 * terminate() (and then blocks process.exit). So only runs whose cost was
 * measured may go there: same graph, same input shapes as a timed warm-up,
 * and no operator whose work or output size depends on input *values*.
 */
import { onnx } from '@switchyard/core/onnx';

/** The verdict of {@link shapeDeterminedCost}. */
export type CostVerdict =
  | {
      shapeDetermined: true;
      /**
       * Some node computes from constants (weights, constants, shapes) only:
       * onnxruntime folds it while creating the session, which is then
       * arbitrary work (a 206-byte model can multiply two 8192×8192
       * constants), so the session is created in a process first.
       */
      foldsConstants: boolean;
    }
  | { shapeDetermined: false; reason: string };

/**
 * Operators whose work and output shape follow from their input shapes (and
 * attributes) alone, whatever the values. Elementwise, linear algebra,
 * convolution, pooling, normalisation, reductions with attribute axes,
 * gathers (the output takes the indices' shape), casts and shape queries.
 */
const SHAPE_ONLY = new Set([
  'Abs', 'Acos', 'Acosh', 'Add', 'And', 'ArgMax', 'ArgMin', 'Asin', 'Asinh', 'Atan', 'Atanh', 'AveragePool',
  'BatchNormalization', 'BitShift', 'Cast', 'CastLike', 'Ceil', 'Celu', 'Clip', 'Concat', 'Constant', 'Conv', 'ConvInteger',
  'Cos', 'Cosh', 'CumSum', 'DepthToSpace', 'DequantizeLinear', 'Div', 'Dropout', 'DynamicQuantizeLinear', 'Elu', 'Equal',
  'Erf', 'Exp', 'Flatten', 'Floor', 'Gather', 'GatherElements', 'GatherND', 'Gelu', 'Gemm', 'GlobalAveragePool',
  'GlobalLpPool', 'GlobalMaxPool', 'Greater', 'GreaterOrEqual', 'HardSigmoid', 'HardSwish', 'Hardmax', 'Identity',
  'InstanceNormalization', 'IsInf', 'IsNaN', 'LRN', 'LayerNormalization', 'LeakyRelu', 'Less', 'LessOrEqual', 'Log',
  'LogSoftmax', 'LpNormalization', 'LpPool', 'MatMul', 'MatMulInteger', 'Max', 'MaxPool', 'Mean', 'Min', 'Mish', 'Mod',
  'Mul', 'Neg', 'Not', 'Or', 'PRelu', 'Pow', 'QLinearConv', 'QLinearMatMul', 'QuantizeLinear', 'Reciprocal',
  'ReduceL1', 'ReduceL2', 'ReduceLogSum', 'ReduceLogSumExp', 'ReduceMax', 'ReduceMean', 'ReduceMin', 'ReduceProd',
  'ReduceSum', 'ReduceSumSquare', 'Relu', 'Round', 'Selu', 'Shape', 'Shrink', 'Sigmoid', 'Sign', 'Sin', 'Sinh', 'Size',
  'Softmax', 'Softplus', 'Softsign', 'SpaceToDepth', 'Sqrt', 'Sub', 'Sum', 'Tan', 'Tanh', 'ThresholdedRelu',
  'Transpose', 'Trilu', 'Where', 'Xor', 'Einsum', 'ScatterElements', 'ScatterND', 'GroupNormalization',
]);

/**
 * Operators whose output shape (and so the work after them) is read from the
 * *values* of some inputs, by input index: allowed only when those inputs do
 * not derive from the request's values. Reshape keeps the element count but
 * not the shape, and the shape changes what follows (an outer product of a
 * [n,1] and a [1,n] costs n² where [1,n]·[n,1] costs n).
 */
const SHAPE_FROM_VALUES: ReadonlyMap<string, readonly number[]> = new Map([
  ['Reshape', [1]],
  ['Expand', [1]],
  ['Tile', [1]],
  ['ConstantOfShape', [0]],
  ['Range', [0, 1, 2]],
  ['Slice', [1, 2, 3, 4]],
  ['Squeeze', [1]],
  ['Unsqueeze', [1]],
  ['Split', [1]],
  ['TopK', [1]],
  ['Pad', [1, 2, 3]],
  ['Resize', [1, 2, 3]],
  ['Upsample', [1]],
  ['OneHot', [1]],
  // Opset 18 moved reduction axes to an input; opset 13 ReduceSum already had it.
  ['ReduceSum', [1]],
  ['ReduceMean', [1]],
  ['ReduceMax', [1]],
  ['ReduceMin', [1]],
  ['ReduceProd', [1]],
  ['ReduceL1', [1]],
  ['ReduceL2', [1]],
  ['ReduceLogSum', [1]],
  ['ReduceLogSumExp', [1]],
  ['ReduceSumSquare', [1]],
]);

/** Outputs that depend on input shapes only, never on values. */
const SHAPE_QUERIES = new Set(['Shape', 'Size']);

/**
 * Decides from the model bytes whether its run cost is a function of the
 * input shapes alone. Anything not known to be so (Loop, Scan, If, NonZero,
 * Unique, Compress, an operator of another domain, a size read from a
 * request's values) is not: such a model's runs go to a session process that
 * can be killed. Errs on the side of "not".
 */
export function shapeDeterminedCost(bytes: Uint8Array): CostVerdict {
  let model: ReturnType<typeof onnx.ModelProto.decode>;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (err) {
    return { shapeDetermined: false, reason: `the model could not be parsed (${(err as Error).message})` };
  }
  const graph = model.graph;
  if (!graph) return { shapeDetermined: false, reason: 'the model has no graph' };
  // Values known not to come from the request: weights, constants, shapes.
  const untainted = new Set<string>(['']);
  for (const init of graph.initializer ?? []) if (init.name) untainted.add(init.name);
  for (const input of graph.input ?? []) if (input.name) untainted.delete(input.name);
  let foldsConstants = false;
  // Nodes are topologically sorted in a valid ONNX graph.
  for (const n of graph.node ?? []) {
    const op = n.opType ?? '';
    if (n.domain && n.domain !== 'ai.onnx') return { shapeDetermined: false, reason: `operator ${n.domain}.${op} is of a domain whose cost is not known` };
    if ((n.attribute ?? []).some((a) => a.g || (a.graphs && a.graphs.length > 0))) {
      return { shapeDetermined: false, reason: `operator ${op} runs a subgraph (its iterations can come from the request)` };
    }
    const valueInputs = SHAPE_FROM_VALUES.get(op);
    if (valueInputs) {
      const tainted = valueInputs.map((i) => n.input?.[i]).find((name) => name !== undefined && !untainted.has(name));
      if (tainted !== undefined) return { shapeDetermined: false, reason: `operator ${op} takes a size from '${tainted}', which depends on the request's values` };
    } else if (!SHAPE_ONLY.has(op)) {
      return { shapeDetermined: false, reason: `operator ${op} has a cost or output size that depends on input values, or is not known` };
    }
    const inputsUntainted = (n.input ?? []).every((name) => untainted.has(name));
    if (inputsUntainted && (n.input ?? []).length > 0 && !SHAPE_QUERIES.has(op)) foldsConstants = true;
    if (SHAPE_QUERIES.has(op) || op === 'Constant' || inputsUntainted) for (const out of n.output ?? []) untainted.add(out);
  }
  return { shapeDetermined: true, foldsConstants };
}
