import test from 'ava';
import { buildInputTensor, inferShape, parseInputFlag } from '../src/tensor-input.js';
import { CliError } from '../src/exit-codes.js';

test('parseInputFlag splits at the first = and parses JSON', (t) => {
  t.deepEqual(parseInputFlag('x=[[1,2],[3,4]]'), { name: 'x', value: [[1, 2], [3, 4]] });
  t.deepEqual(parseInputFlag('s="a=b"'), { name: 's', value: 'a=b' });
  t.throws(() => parseInputFlag('=[1]'), { instanceOf: CliError });
  t.throws(() => parseInputFlag('x=[1,'), { instanceOf: CliError, message: /not JSON/ });
});

test('inferShape reads nested arrays and scalars', (t) => {
  t.deepEqual(inferShape('x', [[1, 2, 3]]), { shape: [1, 3], flat: [1, 2, 3] });
  t.deepEqual(inferShape('x', 7), { shape: [], flat: [7] });
  t.deepEqual(inferShape('x', []), { shape: [0], flat: [] });
  t.throws(() => inferShape('x', [[1, 2], [3]]), { message: /x\[1\] has 1 elements but its siblings have 2/ });
  t.throws(() => inferShape('x', [[1, 2], 3]), { message: /x\[1\] has a scalar/ });
  t.throws(() => inferShape('x', [1, [2]]), { message: /nested deeper/ });
});

test('INT64 accepts numbers and digit strings beyond 2^53, exactly', (t) => {
  const tensor = buildInputTensor({ name: 'i', value: [[1, '-9223372036854775808', '9007199254740993']] }, 'INT64');
  t.deepEqual(tensor.shape, [1, 3]);
  t.deepEqual(Array.from(tensor.data as BigInt64Array), [1n, -9223372036854775808n, 9007199254740993n]);
  t.throws(() => buildInputTensor({ name: 'i', value: [1.5] }, 'INT64'), { message: /not an integer/ });
});

test('values that would change on the way are refused', (t) => {
  t.throws(() => buildInputTensor({ name: 'b', value: [300] }, 'UINT8'), { message: /range 0\.\.255/ });
  t.throws(() => buildInputTensor({ name: 'f', value: ['1'] }, 'FP32'), { message: /not a number/ });
  t.deepEqual(Array.from(buildInputTensor({ name: 'b', value: [true, false, 1] }, 'BOOL').data as Uint8Array), [1, 0, 1]);
});

test('FP16 takes numbers (sent as halves); BYTES takes strings', (t) => {
  t.deepEqual(Array.from(buildInputTensor({ name: 'h', value: [[1, -2]] }, 'FP16').data as Uint16Array), [0x3c00, 0xc000]);
  t.deepEqual(buildInputTensor({ name: 's', value: ['cat', 'dög'] }, 'BYTES').data, ['cat', 'dög']);
  t.throws(() => buildInputTensor({ name: 's', value: [1] }, 'BYTES'), { message: /element 0 \(1\) is not a string/ });
});
