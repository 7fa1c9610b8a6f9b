import test from 'ava';
import { Tensor } from 'onnxruntime-node';
import { numbersToHalves } from '@switchyard/core';
import { compareOutputs } from '../src/shadow-compare.js';

test('BYTES outputs compare by equality, element by element', (t) => {
  const primary = { s: new Tensor('string', ['a', 'b', 'c'], [3]) };
  const same = compareOutputs(['s'], primary, { s: new Tensor('string', ['a', 'b', 'c'], [3]) }, 0);
  t.true(same.ok && same.agreed);
  const other = compareOutputs(['s'], primary, { s: new Tensor('string', ['a', 'B', 'c'], [3]) }, 0);
  t.true(other.ok);
  if (!other.ok) return;
  t.false(other.agreed);
  t.is(other.outputs.get('s')!.withinTolerance, 2);
  t.false(other.outputs.get('s')!.top1Compared);
});

test('FP16 outputs compare by the values their bits stand for', (t) => {
  const result = compareOutputs(
    ['h'],
    { h: new Tensor('float16', numbersToHalves([1, 2]), [1, 2]) },
    { h: new Tensor('float16', numbersToHalves([1, 2.5]), [1, 2]) },
    0.1,
  );
  t.true(result.ok);
  if (!result.ok) return;
  t.is(result.outputs.get('h')!.maxAbsDiff, 0.5);
  t.true(result.outputs.get('h')!.top1Agreed);
});
