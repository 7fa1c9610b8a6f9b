import test from 'ava';
import { encodeRaw, type ModelInferResponse } from '@switchyard/core';
import { decodeOutputs, encodeInputs } from '../src/inference-tensors.js';

const response = (overrides: Partial<ModelInferResponse>): ModelInferResponse => ({
  model_name: 'm',
  model_version: 'v1',
  id: '',
  outputs: [],
  raw_output_contents: [],
  ...overrides,
});

test('raw outputs decode to typed arrays with their shapes, INT64 exact', (t) => {
  const out = decodeOutputs(
    response({ outputs: [{ name: 'y', datatype: 'INT64', shape: ['2'] }], raw_output_contents: [encodeRaw(new BigInt64Array([5n, 2n ** 60n]))] }),
  );
  t.deepEqual(out.y, { name: 'y', datatype: 'INT64', shape: [2], data: new BigInt64Array([5n, 2n ** 60n]) });
});

test('typed contents are decoded when a server sends no raw bytes (KServe allows both)', (t) => {
  const out = decodeOutputs(
    response({
      outputs: [
        { name: 'f', datatype: 'FP64', shape: [1, 2], contents: { fp64_contents: [1.5, 2.5] } },
        { name: 'i', datatype: 'INT64', shape: [1], contents: { int64_contents: ['1152921504606846976'] } },
      ],
    }),
  );
  t.deepEqual(Array.from(out.f!.data as Float64Array), [1.5, 2.5]);
  t.deepEqual(Array.from(out.i!.data as BigInt64Array), [2n ** 60n]);
});

test('inputs whose data does not fill the shape are refused before sending', (t) => {
  t.throws(() => encodeInputs([{ name: 'x', datatype: 'FP32', shape: [2, 3], data: new Float32Array(5) }]), { message: /input 'x' has shape \[2, 3\]/ });
});
