import { encodeModel, floatTensor, int64Tensor, node, onnx, valueInfo, type Dim, type ModelDatatype } from './onnx-graph.js';
import { seededRandom } from './seeded-random.js';

// The linear model is core's (the CLI's demo model is one); tests reach it here too.
export { expectedLinear, linearModel, type LinearModelOptions } from '@switchyard/core/onnx';

// Every builder returns serialised ONNX bytes (opset 13) ready for
// `InferenceSession.create(bytes)` or for publishing to a model store.
// Weights are FP32, so expected values computed in float64 below match the
// runtime only to ~1e-6 relative; compare with a tolerance.

/** Options for {@link int64Model}. */
export interface Int64ModelOptions {
  /** Multiplier (default 2). */
  scale?: number;
  /** Added after scaling (default 1). */
  offset?: number;
}

/**
 * Integer model: INT64 input `ids` [batch, 4] → INT64 output `out` [batch, 4]
 * with `out = ids·scale + offset` element-wise (wrapping on int64 overflow).
 */
export function int64Model({ scale = 2, offset = 1 }: Int64ModelOptions = {}): Uint8Array {
  return encodeModel({
    name: 'int64',
    nodes: [node('Mul', ['ids', 'scale'], ['scaled']), node('Add', ['scaled', 'offset'], ['out'])],
    initializers: [int64Tensor('scale', [], [scale]), int64Tensor('offset', [], [offset])],
    inputs: [valueInfo('ids', 'INT64', ['batch', 4])],
    outputs: [valueInfo('out', 'INT64', ['batch', 4])],
  });
}

/**
 * Two outputs from one input: FP32 `x` [batch, 2] →
 * `sum` FP32 [batch, 1] = `x[r][0] + x[r][1]`, and
 * `doubled` FP32 [batch, 2] = `2·x`.
 */
export function twoOutputModel(): Uint8Array {
  return encodeModel({
    name: 'two-output',
    nodes: [
      // Opset 13 moved ReduceSum's axes from an attribute to a second input.
      node('ReduceSum', ['x', 'axes'], ['sum'], { keepdims: 1 }),
      node('Mul', ['x', 'two'], ['doubled']),
    ],
    initializers: [int64Tensor('axes', [1], [1]), floatTensor('two', [], [2])],
    inputs: [valueInfo('x', 'FP32', ['batch', 2])],
    outputs: [valueInfo('sum', 'FP32', ['batch', 1]), valueInfo('doubled', 'FP32', ['batch', 2])],
  });
}

/**
 * Identity of the given element type: input `in` → output `out`, same shape
 * (default [batch, 2]) and values; for exercising tensor codecs.
 */
export function identityModel(datatype: ModelDatatype, shape: Dim[] = ['batch', 2]): Uint8Array {
  return encodeModel({
    name: `identity-${datatype.toLowerCase()}`,
    nodes: [node('Identity', ['in'], ['out'])],
    inputs: [valueInfo('in', datatype, shape)],
    outputs: [valueInfo('out', datatype, shape)],
  });
}

/** Options for {@link mlpModel}. */
export interface MlpModelOptions {
  /** Input features. */
  inputSize: number;
  /** Width of every dense layer, and of the output. */
  hidden: number;
  /** Number of dense layers (≥ 1). */
  layers: number;
  /** PRNG seed for the weights. */
  seed: number;
}

/** One dense layer of an MLP: `weights` is row-major [fanIn, fanOut]. */
export interface DenseLayer {
  fanIn: number;
  fanOut: number;
  weights: Float32Array;
  bias: Float32Array;
}

/**
 * The exact weights {@link mlpModel} embeds: He-uniform weights
 * (±√(6/fanIn)) and biases in ±0.1, drawn from `seededRandom(seed)` layer by
 * layer, weights before biases.
 */
export function mlpParameters({ inputSize, hidden, layers, seed }: MlpModelOptions): DenseLayer[] {
  if (layers < 1) throw new Error('mlpModel: layers must be ≥ 1');
  const random = seededRandom(seed);
  const uniform = (limit: number): number => (random() * 2 - 1) * limit;
  return Array.from({ length: layers }, (_, l) => {
    const fanIn = l === 0 ? inputSize : hidden;
    const fanOut = hidden;
    const limit = Math.sqrt(6 / fanIn);
    const weights = Float32Array.from({ length: fanIn * fanOut }, () => uniform(limit));
    const bias = Float32Array.from({ length: fanOut }, () => uniform(0.1));
    return { fanIn, fanOut, weights, bias };
  });
}

/**
 * Dense MLP for benchmarks: FP32 input `x` [batch, inputSize] → FP32 output
 * `y` [batch, hidden], `layers` times `h = Relu(h·W + b)` with the weights of
 * {@link mlpParameters} (compute expected values with {@link expectedMlp}).
 * The size is (inputSize + (layers−1)·hidden)·hidden·4 bytes, e.g.
 * 256→1024 with 4 layers ≈ 13.6 MB.
 */
export function mlpModel(options: MlpModelOptions): Uint8Array {
  const params = mlpParameters(options);
  const nodes = [];
  const initializers = [];
  let current = 'x';
  for (const [l, layer] of params.entries()) {
    const isLast = l === params.length - 1;
    const out = isLast ? 'y' : `h${l}`;
    nodes.push(
      node('MatMul', [current, `W${l}`], [`mm${l}`]),
      node('Add', [`mm${l}`, `b${l}`], [`pre${l}`]),
      node('Relu', [`pre${l}`], [out]),
    );
    initializers.push(
      floatTensor(`W${l}`, [layer.fanIn, layer.fanOut], layer.weights),
      floatTensor(`b${l}`, [layer.fanOut], layer.bias),
    );
    current = out;
  }
  return encodeModel({
    name: 'mlp',
    nodes,
    initializers,
    inputs: [valueInfo('x', 'FP32', ['batch', options.inputSize])],
    outputs: [valueInfo('y', 'FP32', ['batch', options.hidden])],
  });
}

/** What {@link mlpModel} outputs for one input row (float64 arithmetic; compare with a tolerance). */
export function expectedMlp(options: MlpModelOptions, row: number[]): number[] {
  let h = row;
  for (const { fanIn, fanOut, weights, bias } of mlpParameters(options)) {
    const next = Array.from(bias);
    for (let i = 0; i < fanIn; i++) {
      const x = h[i] ?? 0;
      for (let j = 0; j < fanOut; j++) next[j]! += x * weights[i * fanOut + j]!;
    }
    h = next.map((v) => Math.max(0, v));
  }
  return h;
}

/** Width of {@link slowModel}'s vector and matrix. */
export const SLOW_MODEL_WIDTH = 256;

/** Options for {@link slowModel}. */
export interface SlowModelOptions {
  /** How many 256×256 by 256×256 MatMuls to chain (≥ 1). */
  iterations: number;
}

/**
 * A model whose run time grows linearly with `iterations`: FP32 input `x`
 * [1, 256] → FP32 output `y` [1, 256]. `x` is tiled to 256 identical rows and
 * multiplied `iterations` times by the same 256×256 matrix; `y` is row 0. The
 * matrix is a cyclic shift, so the values stay exact:
 * `y[0][j] = x[0][(j − iterations) mod 256]`.
 *
 * Measured on the dev box (2 vCPU, onnxruntime-node 1.30, default session
 * options, idle machine): about 0.3 ms per iteration, so 1000 iterations run
 * in ≈ 0.3 s and ~3400 in ≈ 1 s; session creation adds ~0.1 ms per iteration
 * (≈ 0.1 s for 1000). Expect 2–3× slower under parallel load. The rows are
 * tiled because a plain [1,256]×[256,256] chain costs only ~3 µs per MatMul:
 * a one-second run needed ~300 000 nodes, and session creation (~0.13 ms per
 * node) took far longer than the run.
 */
export function slowModel({ iterations }: SlowModelOptions): Uint8Array {
  if (!Number.isInteger(iterations) || iterations < 1) throw new Error('slowModel: iterations must be a positive integer');
  const n = SLOW_MODEL_WIDTH;
  const shift = new Float32Array(n * n);
  // (x·P)[j] = x[j−1] when P[i][i+1] = 1.
  for (let i = 0; i < n; i++) shift[i * n + ((i + 1) % n)] = 1;
  const chain = Array.from({ length: iterations }, (_, k) => node('MatMul', [`v${k}`, 'P'], [`v${k + 1}`]));
  return encodeModel({
    name: 'slow',
    nodes: [
      node('Tile', ['x', 'repeats'], ['v0']),
      ...chain,
      node('Slice', [`v${iterations}`, 'zero', 'one', 'zero'], ['y']),
    ],
    initializers: [
      floatTensor('P', [n, n], shift),
      int64Tensor('repeats', [2], [n, 1]),
      int64Tensor('zero', [1], [0]),
      int64Tensor('one', [1], [1]),
    ],
    inputs: [valueInfo('x', 'FP32', [1, n])],
    outputs: [valueInfo('y', 'FP32', [1, n])],
  });
}

/** The lookup table of {@link gatherModel}: row i is `[10·i, 10·i + 1]`. */
export const GATHER_TABLE: readonly (readonly [number, number])[] = [
  [0, 1],
  [10, 11],
  [20, 21],
  [30, 31],
];

/**
 * Row lookup: INT64 input `idx` [batch] → FP32 output `y` [batch, 2] with
 * `y[r] = GATHER_TABLE[idx[r]]` (negative indices count from the end, as
 * ONNX Gather allows: −4…3 are valid).
 *
 * Any other index (e.g. 10) makes onnxruntime fail at RUN time (verified with
 * onnxruntime-node 1.30): session creation succeeds and `session.run` rejects
 * with "… indices element out of data bounds, idx=10 must be within the
 * inclusive range [-4,3]" — the model for "inference failed" tests.
 * onnxruntime also prints that error to stderr unless the session is created
 * with `logSeverityLevel: 4`.
 */
export function gatherModel(): Uint8Array {
  return encodeModel({
    name: 'gather',
    nodes: [node('Gather', ['table', 'idx'], ['y'], { axis: 0 })],
    initializers: [floatTensor('table', [4, 2], GATHER_TABLE.flat())],
    inputs: [valueInfo('idx', 'INT64', ['batch'])],
    outputs: [valueInfo('y', 'FP32', ['batch', 2])],
  });
}

/**
 * Bytes that are not an ONNX model (a protobuf parse error): onnxruntime
 * refuses to create a session from them.
 */
export function corruptModelBytes(): Uint8Array {
  // 0xff is never a valid protobuf tag byte sequence start here, so parsing
  // fails instead of yielding an empty-but-valid ModelProto.
  return new Uint8Array([0xff, 0xff, 0xff, 0xff, 0x0f, 0x6e, 0x6f, 0x74, 0x20, 0x6f, 0x6e, 0x6e, 0x78]);
}

/**
 * Half precision: FP16 `x` [batch, 2] → FP16 `y` = x + x, and FP32 `y32` =
 * the same sum cast to float32 (for checking the FP16 values by another route).
 */
export function float16Model(): Uint8Array {
  return encodeModel({
    name: 'float16',
    nodes: [node('Add', ['x', 'x'], ['y']), node('Cast', ['y'], ['y32'], { to: onnx.TensorProto.DataType.FLOAT })],
    inputs: [valueInfo('x', 'FP16', ['batch', 2])],
    outputs: [valueInfo('y', 'FP16', ['batch', 2]), valueInfo('y32', 'FP32', ['batch', 2])],
  });
}

/** The labels of {@link stringLabelModel}, in id order from 0; any other string maps to -1 and back to `?`. */
export const STRING_LABELS = ['cat', 'dog', 'bird'] as const;

/**
 * String-keyed model (ai.onnx.ml LabelEncoder): BYTES `label` [batch] →
 * INT64 `id` [batch] (index in {@link STRING_LABELS}, -1 when unknown) and
 * BYTES `upper` [batch] (the known label in capitals, `?` when unknown).
 */
export function stringLabelModel(): Uint8Array {
  const strings = (name: string, values: readonly string[]) =>
    onnx.AttributeProto.create({ name, type: onnx.AttributeProto.AttributeType.STRINGS, strings: values.map((v) => new TextEncoder().encode(v)) });
  const ints = (name: string, values: readonly number[]) => onnx.AttributeProto.create({ name, type: onnx.AttributeProto.AttributeType.INTS, ints: [...values] });
  const ids = STRING_LABELS.map((_, i) => i);
  const encoder = (input: string, output: string, attribute: ReturnType<typeof strings>[]) =>
    onnx.NodeProto.create({ opType: 'LabelEncoder', domain: 'ai.onnx.ml', name: `LabelEncoder_${output}`, input: [input], output: [output], attribute });
  return encodeModel({
    name: 'string-label',
    mlOpset: 2,
    nodes: [
      encoder('label', 'id', [
        strings('keys_strings', STRING_LABELS),
        ints('values_int64s', ids),
        onnx.AttributeProto.create({ name: 'default_int64', type: onnx.AttributeProto.AttributeType.INT, i: -1 }),
      ]),
      encoder('id', 'upper', [
        ints('keys_int64s', ids),
        strings('values_strings', STRING_LABELS.map((l) => l.toUpperCase())),
        onnx.AttributeProto.create({ name: 'default_string', type: onnx.AttributeProto.AttributeType.STRING, s: new TextEncoder().encode('?') }),
      ]),
    ],
    inputs: [valueInfo('label', 'BYTES', ['batch'])],
    outputs: [valueInfo('id', 'INT64', ['batch']), valueInfo('upper', 'BYTES', ['batch'])],
  });
}

/** A graph with a bfloat16 input and output (Identity): onnxruntime loads it, Switchyard must refuse it with a reason. */
export function bfloat16Model(): Uint8Array {
  const info = (name: string) =>
    onnx.ValueInfoProto.create({ name, type: { tensorType: { elemType: onnx.TensorProto.DataType.BFLOAT16, shape: { dim: [{ dimValue: 2 }] } } } });
  return encodeModel({ name: 'bfloat16', nodes: [node('Identity', ['x'], ['y'])], inputs: [info('x')], outputs: [info('y')] });
}
