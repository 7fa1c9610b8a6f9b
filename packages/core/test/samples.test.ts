import test from 'ava';
import { Tensor } from 'onnxruntime-node';
import { GrpcStatus, SwitchyardError } from '../src/errors.js';
import type { Signature } from '../src/schemas.js';
import {
  DEFAULT_TOLERANCE,
  MAX_SAMPLES,
  MAX_SAMPLES_DOCUMENT_BYTES,
  checkSamplesAgainstSignature,
  parseSamplesDocument,
  serializeSamplesDocument,
  type SamplesDocument,
} from '../src/samples.js';
import { sampleFeeds, tensorToSampleTensor } from '../src/samples-ort.js';

const signature: Signature = {
  inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 3] }],
  outputs: [{ name: 'y', datatype: 'FP32', shape: [-1, 1] }],
};

const x = (data: unknown, shape?: number[]): object => ({ datatype: 'FP32', ...(shape ? { shape } : {}), data });

function rejects(t: import('ava').ExecutionContext, input: unknown, pattern: RegExp): void {
  const err = t.throws(() => parseSamplesDocument(typeof input === 'string' ? input : JSON.stringify(input)));
  t.true(err instanceof SwitchyardError);
  t.is((err as SwitchyardError).code, GrpcStatus.INVALID_ARGUMENT);
  t.regex((err as SwitchyardError).rawMessage, pattern);
}

test('the documented example parses; defaults fill the name and the tolerances', (t) => {
  const doc = parseSamplesDocument(
    JSON.stringify({
      tolerance: { absolute: 1e-5, relative: 1e-4 },
      samples: [
        {
          name: 'ones',
          inputs: { x: x([1, 1, 1], [1, 3]) },
          outputs: { y: x([6.5], [1, 1]) },
          tolerance: { y: { absolute: 1e-3, relative: 0 } },
        },
        { inputs: { x: x([[1, 2, 3]]) } },
      ],
    }),
  );
  t.deepEqual(doc.samples[0], {
    name: 'ones',
    inputs: { x: { datatype: 'FP32', shape: [1, 3], data: [1, 1, 1] } },
    outputs: { y: { datatype: 'FP32', shape: [1, 1], data: [6.5] } },
    tolerance: { y: { absolute: 1e-3, relative: 0 } },
  });
  t.is(doc.samples[1]!.name, 'sample-1');
  t.is(doc.samples[1]!.outputs, undefined);
  t.deepEqual(parseSamplesDocument('{"samples":[{"inputs":{}}]}').tolerance, DEFAULT_TOLERANCE);
});

test('a partial tolerance takes the missing field from the level above', (t) => {
  const doc = parseSamplesDocument(
    JSON.stringify({ tolerance: { relative: 0.5 }, samples: [{ inputs: {}, tolerance: { y: { absolute: 2 } } }] }),
  );
  t.deepEqual(doc.tolerance, { absolute: DEFAULT_TOLERANCE.absolute, relative: 0.5 });
  t.deepEqual(doc.samples[0]!.tolerance, { y: { absolute: 2, relative: 0.5 } });
});

test('nested data infers the shape, agrees with a given one, and must not be ragged', (t) => {
  const doc = parseSamplesDocument(JSON.stringify({ samples: [{ inputs: { x: x([[1, 2, 3], [4, 5, 6]], [2, 3]) } }] }));
  t.deepEqual(doc.samples[0]!.inputs.x, { datatype: 'FP32', shape: [2, 3], data: [1, 2, 3, 4, 5, 6] });
  const empty = parseSamplesDocument(JSON.stringify({ samples: [{ inputs: { x: x([[], []]) } }] }));
  t.deepEqual(empty.samples[0]!.inputs.x!.shape, [2, 0]);
  rejects(t, { samples: [{ inputs: { x: x([[1, 2, 3], [4, 5]]) } }] }, /samples\[0\]\.inputs\.x\.data\[1\]: expected an array of 3 items/);
  rejects(t, { samples: [{ inputs: { x: x([[1, 2], [3, [4]]]) } }] }, /samples\[0\]\.inputs\.x\.data\[1\]\[1\]: expected a value but found an array/);
  rejects(t, { samples: [{ inputs: { x: x([[1, 2, 3]], [3, 1]) } }] }, /inputs\.x\.shape: shape \[3,1\] does not match the nested data, which has shape \[1,3\]/);
});

test('flat data needs a shape whose size matches', (t) => {
  rejects(t, { samples: [{ inputs: { x: x([1, 2, 3]) } }] }, /samples\[0\]\.inputs\.x\.shape: shape is required when data is flat/);
  rejects(t, { samples: [{}, { inputs: { x: x([1, 2], [1, 3]) } }] }, /samples\[1\]\.inputs\.x\.data: data has 2 values but shape \[1,3\] needs 3/);
});

test('INT64 and UINT64 take decimal strings so values beyond 2^53 stay exact', (t) => {
  const doc = parseSamplesDocument(
    JSON.stringify({
      samples: [
        {
          inputs: {
            ids: { datatype: 'INT64', shape: [4], data: ['9007199254740993', '-9223372036854775808', '0042', 7] },
            u: { datatype: 'UINT64', shape: [1], data: ['18446744073709551615'] },
            b: { datatype: 'BOOL', shape: [3], data: [true, 0, 1] },
          },
        },
      ],
    }),
  );
  const inputs = doc.samples[0]!.inputs;
  // Small values become numbers and leading zeros go, so the canonical form is unique.
  t.deepEqual(inputs.ids!.data, ['9007199254740993', '-9223372036854775808', 42, 7]);
  t.deepEqual(inputs.u!.data, ['18446744073709551615']);
  t.deepEqual(inputs.b!.data, [true, false, true]);
  const feeds = sampleFeeds(doc.samples[0]!, {
    inputs: [
      { name: 'ids', datatype: 'INT64', shape: [4] },
      { name: 'u', datatype: 'UINT64', shape: [1] },
      { name: 'b', datatype: 'BOOL', shape: [3] },
    ],
    outputs: [{ name: 'o', datatype: 'FP32', shape: [1] }],
  });
  t.true(feeds.ids!.data instanceof BigInt64Array);
  t.deepEqual(Array.from(feeds.ids!.data as BigInt64Array), [9007199254740993n, -9223372036854775808n, 42n, 7n]);
  t.deepEqual(Array.from(feeds.u!.data as BigUint64Array), [18446744073709551615n]);
  t.is(feeds.b!.type, 'bool');
  t.deepEqual(Array.from(feeds.b!.data as Uint8Array), [1, 0, 1]);
});

test('element errors name the type rule and the path of the value', (t) => {
  const one = (datatype: string, data: unknown[]): object => ({ samples: [{ inputs: { v: { datatype, shape: [data.length], data } } }] });
  rejects(t, one('INT64', [1, 9007199254740993]), /samples\[0\]\.inputs\.v\.data\[1\]: 9007199254740992 is beyond 2\^53 .* write it as a string/);
  rejects(t, one('INT64', ['9223372036854775808']), /data\[0\]: 9223372036854775808 is out of range for INT64/);
  rejects(t, one('INT32', ['5']), /data\[0\]: "5" is not a valid INT32; use an integer/);
  rejects(t, one('UINT8', [256]), /data\[0\]: 256 is out of range for UINT8 \(0 to 255\)/);
  rejects(t, one('BOOL', [2]), /data\[0\]: 2 is not a valid BOOL; use true or false/);
  rejects(t, one('FP32', [1, 'one']), /data\[1\]: "one" is not a valid FP32/);
  rejects(t, { samples: [{ inputs: { x: x([[1, 2, 3], [4, 'x', 6]]) } }] }, /samples\[0\]\.inputs\.x\.data\[1\]\[1\]: "x" is not a valid FP32/);
  const special = parseSamplesDocument(JSON.stringify(one('FP64', ['NaN', 'Infinity', '-Infinity', 0.5])));
  t.deepEqual(special.samples[0]!.inputs.v!.data, ['NaN', 'Infinity', '-Infinity', 0.5]);
});

test('structural errors name the path: unknown keys, bad datatypes, missing parts, duplicate names', (t) => {
  rejects(t, { samples: [{ inputs: {} }, { inputs: {}, output: {} }] }, /samples\[1\]: Unrecognized key: "output"/);
  rejects(t, { samples: [{ inputs: { x: { datatype: 'FLOAT', shape: [1], data: [1] } } }] }, /samples\[0\]\.inputs\.x\.datatype: /);
  rejects(t, { samples: [{ inputs: { 'in:0': { datatype: 'FP32', shape: [1] } } }] }, /samples\[0\]\.inputs\["in:0"\]\.data: /);
  rejects(t, { samples: [{ name: 'a', inputs: {} }, { name: 'a', inputs: {} }] }, /samples\[1\]\.name: sample name 'a' is also used by samples\[0\]/);
  rejects(t, { samples: [] }, /samples: the document has no samples/);
  rejects(t, { tolerance: { absolute: -1 }, samples: [{ inputs: {} }] }, /tolerance\.absolute: /);
  rejects(t, '{"samples": [', /not JSON/);
  rejects(t, '[1]', /\(document\): /);
  const err = t.throws(() => parseSamplesDocument(Uint8Array.from([0x7b, 0xff, 0x7d])));
  t.regex((err as SwitchyardError).rawMessage, /not UTF-8/);
});

test('limits: at most 1000 samples and 16 MiB', (t) => {
  const many = { samples: Array.from({ length: MAX_SAMPLES + 1 }, () => ({ inputs: {} })) };
  rejects(t, many, /samples: a document holds at most 1000 samples/);
  t.is(parseSamplesDocument(JSON.stringify({ samples: many.samples.slice(1) })).samples.length, MAX_SAMPLES);
  const big = new Uint8Array(MAX_SAMPLES_DOCUMENT_BYTES + 1).fill(0x20);
  const err = t.throws(() => parseSamplesDocument(big));
  t.regex((err as SwitchyardError).rawMessage, /is 16\.0 MiB; the limit is 16\.0 MiB/);
});

test('checkSamplesAgainstSignature names the sample and the tensor', (t) => {
  const doc = (sample: object): SamplesDocument => parseSamplesDocument(JSON.stringify({ samples: [{ name: 's', ...sample }] }));
  const fails = (sample: object, pattern: RegExp): void => {
    const err = t.throws(() => checkSamplesAgainstSignature(doc(sample), signature));
    t.is((err as SwitchyardError).code, GrpcStatus.INVALID_ARGUMENT);
    t.regex((err as SwitchyardError).rawMessage, pattern);
  };
  t.notThrows(() => checkSamplesAgainstSignature(doc({ inputs: { x: x([[1, 2, 3], [4, 5, 6]]) }, outputs: { y: x([[1], [2]]) } }), signature));
  fails({ inputs: {} }, /sample 's' is missing input x \(FP32 \[-1,3\]\)/);
  fails({ inputs: { x: x([[1, 2, 3]]), z: x([[1]]) } }, /sample 's' has input 'z', which the model does not take/);
  fails({ inputs: { x: { datatype: 'FP64', data: [[1, 2, 3]] } } }, /sample 's' input 'x' has datatype FP64 but the model's is x \(FP32 \[-1,3\]\)/);
  fails({ inputs: { x: x([[1, 2]]) } }, /sample 's' input 'x' has shape \[1,2\] but the model's is x \(FP32 \[-1,3\]\)/);
  fails({ inputs: { x: x([1, 2, 3], [3]) } }, /input 'x' has shape \[3\]/);
  fails({ inputs: { x: x([[1, 2, 3]]) }, outputs: { z: x([[1]]) } }, /sample 's' has golden output 'z', which the model does not produce; it produces y/);
  fails({ inputs: { x: x([[1, 2, 3]]) }, outputs: { y: x([[1, 2]]) } }, /sample 's' golden output 'y' has shape \[1,2\]/);
  fails({ inputs: { x: x([[1, 2, 3]]) }, tolerance: { z: { absolute: 1 } } }, /sample 's' sets a tolerance for 'z'/);
});

test('tensorToSampleTensor is JSON-safe: big INT64 as strings, BOOL as booleans, NaN as a word', (t) => {
  t.deepEqual(tensorToSampleTensor(new Tensor('int64', BigInt64Array.from([1n, -(2n ** 60n)]), [2])), {
    datatype: 'INT64',
    shape: [2],
    data: [1, '-1152921504606846976'],
  });
  t.deepEqual(tensorToSampleTensor(new Tensor('bool', Uint8Array.from([1, 0]), [1, 2])).data, [true, false]);
  t.deepEqual(tensorToSampleTensor(new Tensor('float32', Float32Array.from([0.5, Number.NaN, -Infinity]), [3])).data, [
    0.5,
    'NaN',
    '-Infinity',
  ]);
  // float32 values are recorded exactly as the double they widen to.
  t.deepEqual(tensorToSampleTensor(new Tensor('float32', Float32Array.from([0.1]), [1])).data, [Math.fround(0.1)]);
});

test('serializeSamplesDocument is canonical and parses back to the same document', (t) => {
  const a = parseSamplesDocument(
    JSON.stringify({ samples: [{ name: 'n', inputs: { b: x([[1]]), a: x([2], [1, 1]) }, outputs: { y: x([[3]]) } }] }),
  );
  const b = parseSamplesDocument(
    JSON.stringify({ tolerance: DEFAULT_TOLERANCE, samples: [{ outputs: { y: x([3], [1, 1]) }, inputs: { a: x([[2]]), b: x([1], [1, 1]) }, name: 'n' }] }),
  );
  const bytes = serializeSamplesDocument(a);
  t.deepEqual(bytes, serializeSamplesDocument(b));
  t.deepEqual(parseSamplesDocument(bytes), a);
  t.regex(bytes.toString('utf8'), /^\{"tolerance":\{"absolute":0\.00001,"relative":0\.0001\},"samples":\[\{"name":"n","inputs":\{"a":/);
});
