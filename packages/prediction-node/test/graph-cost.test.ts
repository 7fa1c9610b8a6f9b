// Which models' run cost follows from input shapes alone (docs/design.md, "Run limits").
import test from 'ava';
import { encodeModel, int64Tensor, node, onnx, valueInfo } from '@switchyard/core/onnx';
import { gatherModel, linearModel, slowModel } from '@switchyard/testkit';
import { shapeDeterminedCost } from '../src/graph-cost.js';

const x = valueInfo('x', 'FP32', ['n', 4]);
const y = valueInfo('y', 'FP32', ['a', 'b']);

test('linear, slow (Tile by a constant) and gather models are shape-determined and fold nothing', (t) => {
  for (const bytes of [linearModel({ weights: [1, 2, 3], bias: 0 }), slowModel({ iterations: 3 }), gatherModel()]) {
    t.deepEqual(shapeDeterminedCost(bytes), { shapeDetermined: true, foldsConstants: false });
  }
});

test('a size read from the request makes a model not shape-determined, naming the operator', (t) => {
  const viaInput = encodeModel({
    name: 'reshape-by-input',
    nodes: [node('Reshape', ['x', 's'], ['y'])],
    inputs: [x, valueInfo('s', 'INT64', [2])],
    outputs: [y],
  });
  t.like(shapeDeterminedCost(viaInput), { shapeDetermined: false, reason: "operator Reshape takes a size from 's', which depends on the request's values" });
  // The size computed from the input's values (not its shape) is just as tainted.
  const viaValues = encodeModel({
    name: 'expand-by-values',
    nodes: [node('Cast', ['x', ], ['xi'], { to: 7 }), node('ReduceMax', ['xi'], ['m'], { keepdims: 1 }), node('Expand', ['x', 'm'], ['y'])],
    inputs: [x],
    outputs: [y],
  });
  t.like(shapeDeterminedCost(viaValues), { shapeDetermined: false });
});

test('sizes from Shape or constants are fine; constants computed at load are reported as folding', (t) => {
  const viaShape = encodeModel({
    name: 'reshape-by-shape',
    nodes: [node('Shape', ['x'], ['s']), node('Reshape', ['x', 's'], ['y'])],
    inputs: [x],
    outputs: [y],
  });
  t.deepEqual(shapeDeterminedCost(viaShape), { shapeDetermined: true, foldsConstants: false });
  const folding = encodeModel({
    name: 'folding',
    nodes: [node('ConstantOfShape', ['dims'], ['c']), node('Add', ['x', 'c'], ['y'])],
    initializers: [int64Tensor('dims', [2], [1, 4])],
    inputs: [x],
    outputs: [y],
  });
  t.deepEqual(shapeDeterminedCost(folding), { shapeDetermined: true, foldsConstants: true });
});

test('subgraphs, value-dependent shapes, other domains and garbage are not shape-determined', (t) => {
  const loop = node('Loop', ['n', '', 'x'], ['y']);
  loop.attribute.push(onnx.AttributeProto.create({ name: 'body', type: onnx.AttributeProto.AttributeType.GRAPH, g: onnx.GraphProto.create({ name: 'b' }) }));
  t.like(shapeDeterminedCost(encodeModel({ name: 'loop', nodes: [loop], inputs: [x, valueInfo('n', 'INT64', [])], outputs: [y] })), { shapeDetermined: false });
  t.like(shapeDeterminedCost(encodeModel({ name: 'nz', nodes: [node('NonZero', ['x'], ['y'])], inputs: [x], outputs: [y] })), {
    shapeDetermined: false,
    reason: 'operator NonZero has a cost or output size that depends on input values, or is not known',
  });
  const custom = node('Gelu', ['x'], ['y']);
  custom.domain = 'com.microsoft';
  t.like(shapeDeterminedCost(encodeModel({ name: 'ms', nodes: [custom], inputs: [x], outputs: [y] })), { shapeDetermined: false });
  t.like(shapeDeterminedCost(new Uint8Array([0xff, 0xff, 0xff])), { shapeDetermined: false });
});
