import anyTest, { type TestFn } from 'ava';
import { GrpcStatus, SwitchyardError } from '@switchyard/core';
import { corruptModelBytes, encodeModel, int64Model, linearModel, node, onnx, twoOutputModel, valueInfo } from '@switchyard/testkit';
import { readOnnxSignature } from '../src/index.js';

const test = anyTest as TestFn;

test('reads inputs and outputs; symbolic dimensions become -1', async (t) => {
  t.deepEqual(await readOnnxSignature(linearModel({ weights: [1, 2, 3], bias: 0 })), {
    inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 3] }],
    outputs: [{ name: 'y', datatype: 'FP32', shape: [-1, 1] }],
  });
  t.deepEqual(await readOnnxSignature(int64Model()), {
    inputs: [{ name: 'ids', datatype: 'INT64', shape: [-1, 4] }],
    outputs: [{ name: 'out', datatype: 'INT64', shape: [-1, 4] }],
  });
  t.deepEqual((await readOnnxSignature(twoOutputModel())).outputs, [
    { name: 'sum', datatype: 'FP32', shape: [-1, 1] },
    { name: 'doubled', datatype: 'FP32', shape: [-1, 2] },
  ]);
});

test('bytes onnxruntime rejects are INVALID_ARGUMENT with its message', async (t) => {
  const err = await t.throwsAsync(readOnnxSignature(corruptModelBytes()));
  t.true(err instanceof SwitchyardError);
  t.is((err as SwitchyardError).code, GrpcStatus.INVALID_ARGUMENT);
  t.regex((err as SwitchyardError).rawMessage, /^not a loadable ONNX model: .+/);
});

test('a tensor type Switchyard cannot serve is INVALID_ARGUMENT naming the tensor', async (t) => {
  const float16 = onnx.ValueInfoProto.create({
    name: 'half',
    type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT16, shape: { dim: [{ dimParam: 'batch' }, { dimValue: 2 }] } } },
  });
  const bytes = encodeModel({ name: 'fp16', nodes: [node('Cast', ['x'], ['half'], { to: onnx.TensorProto.DataType.FLOAT16 })], inputs: [valueInfo('x', 'FP32', ['batch', 2])], outputs: [float16] });
  const err = await t.throwsAsync(readOnnxSignature(bytes));
  t.is((err as SwitchyardError).code, GrpcStatus.INVALID_ARGUMENT);
  t.regex((err as SwitchyardError).rawMessage, /output 'half' has element type float16/);
});
