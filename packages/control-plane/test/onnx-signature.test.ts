import anyTest, { type TestFn } from 'ava';
import { GrpcStatus, SwitchyardError } from '@switchyard/core';
import { bfloat16Model, corruptModelBytes, float16Model, int64Model, linearModel, stringLabelModel, twoOutputModel } from '@switchyard/testkit';
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

test('FP16 and BYTES (string) tensors are served', async (t) => {
  t.deepEqual(await readOnnxSignature(float16Model()), {
    inputs: [{ name: 'x', datatype: 'FP16', shape: [-1, 2] }],
    outputs: [
      { name: 'y', datatype: 'FP16', shape: [-1, 2] },
      { name: 'y32', datatype: 'FP32', shape: [-1, 2] },
    ],
  });
  t.deepEqual(await readOnnxSignature(stringLabelModel()), {
    inputs: [{ name: 'label', datatype: 'BYTES', shape: [-1] }],
    outputs: [
      { name: 'id', datatype: 'INT64', shape: [-1] },
      { name: 'upper', datatype: 'BYTES', shape: [-1] },
    ],
  });
});

test('BF16 is INVALID_ARGUMENT naming the tensor and saying why', async (t) => {
  const err = await t.throwsAsync(readOnnxSignature(bfloat16Model()));
  t.is((err as SwitchyardError).code, GrpcStatus.INVALID_ARGUMENT);
  t.regex((err as SwitchyardError).rawMessage, /element type bfloat16: .*no bfloat16 tensor type/);
});
