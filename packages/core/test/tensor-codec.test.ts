import test from 'ava';
import { Tensor } from 'onnxruntime-node';
import { decodeInputs, encodeOutput, requestedOutputs } from '../src/tensor-codec.js';
import { decodeRaw, encodeRaw } from '../src/tensor-raw.js';
import { SwitchyardError } from '../src/errors.js';
import type { ModelInferRequest } from '../src/inference-types.js';
import type { Signature } from '../src/schemas.js';

const signature: Signature = {
  inputs: [
    { name: 'x', datatype: 'FP32', shape: [-1, 3] },
    { name: 'flags', datatype: 'BOOL', shape: [-1] },
  ],
  outputs: [{ name: 'y', datatype: 'FP64', shape: [-1, 1] }],
};

const request = (overrides: Partial<ModelInferRequest>): ModelInferRequest => ({
  model_name: 'm',
  model_version: '',
  id: '',
  inputs: [],
  raw_input_contents: [],
  ...overrides,
});

test('raw contents decode to typed tensors without copying aligned bytes', (t) => {
  const xs = encodeRaw(Float32Array.from([1, 2, 3, 4, 5, 6]));
  const feeds = decodeInputs(
    request({
      inputs: [
        { name: 'x', datatype: 'FP32', shape: ['2', '3'] },
        { name: 'flags', datatype: 'BOOL', shape: [2] },
      ],
      raw_input_contents: [xs, Uint8Array.from([1, 0])],
    }),
    signature,
  );
  t.deepEqual(Array.from(feeds.x!.data as Float32Array), [1, 2, 3, 4, 5, 6]);
  t.deepEqual(feeds.x!.dims, [2, 3]);
  t.is(feeds.flags!.type, 'bool');
});

test('misaligned raw bytes are copied, not misread', (t) => {
  const backing = new Uint8Array(13);
  backing.set(encodeRaw(Float32Array.from([7, 8, 9])), 1);
  const feeds = decodeInputs(
    request({
      inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3] }, { name: 'flags', datatype: 'BOOL', shape: [0] }],
      raw_input_contents: [backing.subarray(1), new Uint8Array(0)],
    }),
    signature,
  );
  t.deepEqual(Array.from(feeds.x!.data as Float32Array), [7, 8, 9]);
});

test('typed contents decode, INT64 keeps every bit', (t) => {
  const sig: Signature = { inputs: [{ name: 'ids', datatype: 'INT64', shape: [-1] }], outputs: signature.outputs };
  const feeds = decodeInputs(
    request({ inputs: [{ name: 'ids', datatype: 'INT64', shape: [2], contents: { int64_contents: ['9007199254740993', '-1'] } }] }),
    sig,
  );
  t.deepEqual(Array.from(feeds.ids!.data as BigInt64Array), [9007199254740993n, -1n]);
});

test('rejections name the input and what the model expects', (t) => {
  const bad = (r: Partial<ModelInferRequest>, pattern: RegExp) => {
    const err = t.throws(() => decodeInputs(request(r), signature), { instanceOf: SwitchyardError });
    t.is(err?.code, 3);
    t.regex(err?.message ?? '', pattern);
  };
  bad({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1, -2] }] }, /invalid dimension/);
  bad({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3], contents: { fp32_contents: [1, 2, 3] } }] }, /missing input flags/);
  bad(
    { inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3] }, { name: 'x', datatype: 'FP32', shape: [1, 3] }], raw_input_contents: [new Uint8Array(12), new Uint8Array(12)] },
    /given twice/,
  );
  bad(
    { inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3], contents: { fp32_contents: [1, 2, 3] } }], raw_input_contents: [new Uint8Array(12)] },
    /typed contents and raw_input_contents/,
  );
});

test('requested outputs are checked; none requested means all', (t) => {
  t.deepEqual(requestedOutputs(request({}), signature), ['y']);
  t.throws(() => requestedOutputs(request({ outputs: [{ name: 'q' }] }), signature), { message: /unknown output 'q'/ });
});

test('outputs encode as raw bytes and decode back', (t) => {
  const encoded = encodeOutput('y', new Tensor('float64', Float64Array.from([0.5, -2]), [2, 1]));
  t.deepEqual(encoded.tensor, { name: 'y', datatype: 'FP64', shape: [2, 1] });
  t.deepEqual(Array.from(decodeRaw('FP64', encoded.raw) as Float64Array), [0.5, -2]);
});
