import test from 'ava';
import { decodeOutput, nest, shortestFloat32 } from '../src/tensor-output.js';
import { jsonReplacer } from '../src/output-format.js';

test('nest rebuilds row-major data; shape [] is a scalar', (t) => {
  t.deepEqual(nest([1, 2, 3, 4, 5, 6], [2, 3]), [[1, 2, 3], [4, 5, 6]]);
  t.deepEqual(nest([1, 2, 3, 4], [2, 1, 2]), [[[1, 2]], [[3, 4]]]);
  t.is(nest([9], []), 9);
});

test('FP32 prints as the shortest decimal of the same float', (t) => {
  t.is(shortestFloat32(Math.fround(0.1)), 0.1);
  t.is(shortestFloat32(4.75), 4.75);
  t.is(Math.fround(shortestFloat32(Math.fround(1 / 3))), Math.fround(1 / 3));
});

test('INT64 outputs stay exact and print as numbers or strings', (t) => {
  const out = decodeOutput({ name: 'y', datatype: 'INT64', shape: [2], data: new BigInt64Array([5n, 2n ** 60n]) });
  t.deepEqual(out.data, [5n, 2n ** 60n]);
  t.is(JSON.stringify(out.data, jsonReplacer), '[5,"1152921504606846976"]');
});

test('outputs nest by shape; BOOL prints as booleans', (t) => {
  t.deepEqual(decodeOutput({ name: 'y', datatype: 'FP64', shape: [1, 2], data: Float64Array.from([1.5, 2.5]) }).data, [[1.5, 2.5]]);
  t.deepEqual(decodeOutput({ name: 'b', datatype: 'BOOL', shape: [2], data: Uint8Array.from([1, 0]) }).data, [true, false]);
});

test('FP16 prints its values, BYTES its strings, nested by shape', (t) => {
  t.deepEqual(decodeOutput({ name: 'h', datatype: 'FP16', shape: [1, 2], data: Uint16Array.from([0x3c00, 0x3800]) }).data, [[1, 0.5]]);
  t.deepEqual(decodeOutput({ name: 's', datatype: 'BYTES', shape: [2], data: ['A', 'B'] }).data, ['A', 'B']);
});
