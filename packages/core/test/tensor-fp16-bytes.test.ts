import test from 'ava';
import { Tensor } from 'onnxruntime-node';
import { halfToNumber, numberToHalf, roundToHalf } from '../src/float16.js';
import { compareOutputs } from '../src/golden-compare.js';
import { decodeInputs, encodeOutput } from '../src/tensor-codec.js';
import { decodeBytesRaw, decodeRaw, encodeBytesRaw, encodeRaw } from '../src/tensor-raw.js';
import { DEFAULT_TOLERANCE, parseSamplesDocument } from '../src/samples.js';
import { sampleTensorToOrt, tensorToSampleTensor } from '../src/samples-ort.js';
import { SwitchyardError } from '../src/errors.js';
import { fromOrtType, unservedTypeReason } from '../src/datatypes.js';
import type { ModelInferRequest } from '../src/inference-types.js';
import type { Signature } from '../src/schemas.js';

const signature: Signature = {
  inputs: [
    { name: 'h', datatype: 'FP16', shape: [-1] },
    { name: 's', datatype: 'BYTES', shape: [-1] },
  ],
  outputs: [{ name: 'y', datatype: 'BYTES', shape: [-1] }],
};

const request = (overrides: Partial<ModelInferRequest>): ModelInferRequest => ({
  model_name: 'm',
  model_version: '',
  id: '',
  inputs: [
    { name: 'h', datatype: 'FP16', shape: [2] },
    { name: 's', datatype: 'BYTES', shape: [3] },
  ],
  raw_input_contents: [],
  ...overrides,
});

test('FP16 conversion is exact for halves, rounds to nearest even, and keeps the special values', (t) => {
  t.is(numberToHalf(1), 0x3c00);
  t.is(numberToHalf(-2), 0xc000);
  t.is(numberToHalf(65504), 0x7bff);
  t.is(numberToHalf(65520), 0x7c00); // past the largest half: Infinity
  t.is(numberToHalf(2 ** -24), 0x0001); // smallest subnormal
  t.is(numberToHalf(2 ** -26), 0); // below half of it: zero
  t.is(numberToHalf(1 + 2 ** -11), 0x3c00); // a tie rounds to even
  t.is(numberToHalf(1 + 3 * 2 ** -11), 0x3c02);
  t.true(Number.isNaN(halfToNumber(numberToHalf(Number.NaN))));
  t.is(halfToNumber(numberToHalf(-Infinity)), -Infinity);
  t.is(roundToHalf(0.1), 0.0999755859375);
  for (let bits = 0; bits < 0x7c00; bits += 37) t.is(numberToHalf(halfToNumber(bits)), bits);
});

test('BYTES raw contents: 4-byte little-endian length then the UTF-8 bytes, per element', (t) => {
  const raw = encodeBytesRaw(['a', '', 'héllo']);
  t.deepEqual([...raw.subarray(0, 5)], [1, 0, 0, 0, 0x61]);
  t.is(raw.byteLength, 4 + 1 + 4 + 4 + 6);
  t.deepEqual(decodeBytesRaw(raw, 3, 's'), ['a', '', 'héllo']);
  t.deepEqual(decodeRaw('BYTES', raw), ['a', '', 'héllo']);
  t.throws(() => decodeBytesRaw(raw, 4, 's'), { message: /raw contents for 3 elements but its shape needs 4/ });
  t.throws(() => decodeBytesRaw(raw, 2, 's'), { message: /bytes past its 2 elements/ });
  t.throws(() => decodeBytesRaw(Uint8Array.from([9, 0, 0, 0, 1]), 1, 's'), { message: /declares 9 bytes but only 1 remain/ });
  t.throws(() => decodeBytesRaw(Uint8Array.from([1, 0, 0, 0, 0xff]), 1, 's'), { message: /not valid UTF-8/ });
});

test('FP16 and BYTES inputs decode from raw contents; BYTES also from bytes_contents', (t) => {
  const halves = Uint16Array.from([numberToHalf(1.5), numberToHalf(-3)]);
  const feeds = decodeInputs(request({ raw_input_contents: [encodeRaw(halves), encodeBytesRaw(['x', 'yy', ''])] }), signature);
  t.is(feeds.h!.type, 'float16');
  t.deepEqual(Array.from(feeds.h!.data as Uint16Array, halfToNumber), [1.5, -3]);
  t.is(feeds.s!.type, 'string');
  t.deepEqual(feeds.s!.data, ['x', 'yy', '']);
  const typed = decodeInputs(
    request({ inputs: [{ name: 's', datatype: 'BYTES', shape: [2], contents: { bytes_contents: [Buffer.from('cat'), Buffer.from('dog')] } }] }),
    { inputs: [signature.inputs[1]!], outputs: signature.outputs },
  );
  t.deepEqual(typed.s!.data, ['cat', 'dog']);
});

test('FP16 typed contents and short raw FP16 are refused with the reason', (t) => {
  const err = t.throws(
    () =>
      decodeInputs(
        request({ inputs: [{ name: 'h', datatype: 'FP16', shape: [1], contents: { fp32_contents: [1] } }, { name: 's', datatype: 'BYTES', shape: [0] }] }),
        signature,
      ),
    { instanceOf: SwitchyardError },
  );
  t.is(err?.code, 3);
  t.regex(err?.message ?? '', /FP16 tensors have no typed contents field/);
  t.throws(() => decodeInputs(request({ raw_input_contents: [new Uint8Array(3), encodeBytesRaw(['a', 'b', 'c'])] }), signature), {
    message: /has 3 raw bytes but shape \[2\] of FP16 needs 4/,
  });
});

test('outputs: BYTES encode length-prefixed, FP16 as its bits', (t) => {
  const bytes = encodeOutput('y', new Tensor('string', ['A', 'BC'], [2]));
  t.deepEqual(bytes.tensor, { name: 'y', datatype: 'BYTES', shape: [2] });
  t.deepEqual(decodeBytesRaw(bytes.raw, 2, 'y'), ['A', 'BC']);
  const half = encodeOutput('h', new Tensor('float16', Uint16Array.from([0x3c00]), [1]));
  t.is(half.tensor.datatype, 'FP16');
  t.deepEqual([...half.raw], [0x00, 0x3c]);
});

test('BF16 is not a served datatype, and the reason says why', (t) => {
  t.is(fromOrtType('bfloat16'), undefined);
  t.regex(unservedTypeReason('bfloat16') ?? '', /no bfloat16 tensor type/);
});

test('samples: FP16 takes numbers, BYTES strings; both convert to onnxruntime tensors and back', (t) => {
  const doc = parseSamplesDocument(
    JSON.stringify({
      samples: [{ inputs: { h: { datatype: 'FP16', data: [[0.1, 2]] }, s: { datatype: 'BYTES', shape: [2], data: ['cat', 'dög'] } } }],
    }),
  );
  const h = doc.samples[0]!.inputs.h!;
  const s = doc.samples[0]!.inputs.s!;
  const ort = sampleTensorToOrt(h);
  t.is(ort.type, 'float16');
  t.deepEqual(tensorToSampleTensor(ort).data, [roundToHalf(0.1), 2]);
  t.deepEqual(tensorToSampleTensor(sampleTensorToOrt(s)), { datatype: 'BYTES', shape: [2], data: ['cat', 'dög'] });
  t.throws(() => parseSamplesDocument(JSON.stringify({ samples: [{ inputs: { s: { datatype: 'BYTES', shape: [1], data: [3] } } }] })), {
    message: /is not a valid BYTES element; use a string/,
  });
});

test('golden comparison: BYTES by equality, FP16 golden values judged as the half they stand for', (t) => {
  const tol = DEFAULT_TOLERANCE;
  t.true(compareOutputs({ datatype: 'BYTES', shape: [2], data: ['a', 'b'] }, { datatype: 'BYTES', shape: [2], data: ['a', 'b'] }, tol).ok);
  const bad = compareOutputs({ datatype: 'BYTES', shape: [2], data: ['a', 'b'] }, { datatype: 'BYTES', shape: [2], data: ['a', 'B'] }, tol);
  t.false(bad.ok);
  t.is(bad.reason, 'element 1: expected "b", got "B" (BYTES compare by equality)');
  t.true(compareOutputs({ datatype: 'FP16', shape: [1], data: [0.1] }, { datatype: 'FP16', shape: [1], data: [roundToHalf(0.1)] }, tol).ok);
  t.false(compareOutputs({ datatype: 'FP16', shape: [1], data: [0.1] }, { datatype: 'FP16', shape: [1], data: [0.2] }, tol).ok);
});
