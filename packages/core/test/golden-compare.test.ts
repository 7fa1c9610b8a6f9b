import test from 'ava';
import { compareOutputs, compareSample } from '../src/golden-compare.js';
import { DEFAULT_TOLERANCE, type SampleTensor, type SampleValue } from '../src/samples.js';

const fp32 = (data: SampleValue[], shape = [data.length]): SampleTensor => ({ datatype: 'FP32', shape, data });
const exact = { absolute: 0, relative: 0 };

test('identical outputs match exactly', (t) => {
  t.deepEqual(compareOutputs(fp32([1, 2, 3]), fp32([1, 2, 3]), exact), { ok: true, maxAbsDiff: 0, withinShare: 1 });
  t.true(compareOutputs(fp32([]), fp32([]), exact).ok);
});

test('differences within absolute + relative·|expected| pass and report the largest', (t) => {
  // allowed for 100: 0.01 + 0.001·100 = 0.11
  const r = compareOutputs(fp32([100, 0]), fp32([100.1, 0.005]), { absolute: 0.01, relative: 0.001 });
  t.true(r.ok);
  t.is(r.firstMismatch, undefined);
  t.true(Math.abs(r.maxAbsDiff - 0.1) < 1e-9);
  t.is(r.withinShare, 1);
});

test('the tolerance is relative to the expected value, not to the one got', (t) => {
  // |0 − 1| = 1 > 0 + 0.5·|0|, although it would be within 0.5·|1|.
  t.false(compareOutputs(fp32([0]), fp32([1]), { absolute: 0, relative: 0.5 }).ok);
  t.true(compareOutputs(fp32([1]), fp32([0.5]), { absolute: 0, relative: 0.5 }).ok);
});

test('a difference outside tolerance names the first element, values and bound', (t) => {
  const r = compareOutputs(fp32([6.5, 1, 2, 3]), fp32([7.5, 1, 2.5, 3]), DEFAULT_TOLERANCE);
  t.false(r.ok);
  t.is(r.withinShare, 0.5);
  t.is(r.maxAbsDiff, 1);
  t.like(r.firstMismatch, { index: 0, expected: 6.5, got: 7.5, absDiff: 1 });
  t.true(Math.abs(r.firstMismatch!.allowed - 0.00066) < 1e-12);
  t.is(r.reason, 'element 0: expected 6.5, got 7.5 (|diff| 1 > allowed 0.00066)');
});

test('compareSample prefixes the sample and output, and per-output tolerance overrides the default', (t) => {
  const golden = { y: fp32([6.5], [1, 1]), z: fp32([1]) };
  const got = { y: fp32([7.5], [1, 1]), z: fp32([1]), extra: fp32([9]) };
  const failed = compareSample('ones', golden, got, { default: DEFAULT_TOLERANCE });
  t.false(failed.ok);
  t.is(failed.reason, "sample 'ones' output 'y' element 0: expected 6.5, got 7.5 (|diff| 1 > allowed 0.00066)");
  t.true(failed.outputs.z!.ok);
  t.is(failed.outputs.extra, undefined);
  const loose = compareSample('ones', golden, got, { default: DEFAULT_TOLERANCE, outputs: { y: { absolute: 1, relative: 0 } } });
  t.deepEqual([loose.ok, loose.reason, loose.maxAbsDiff], [true, '', 1]);
  const missing = compareSample('ones', golden, { z: fp32([1]) }, { default: DEFAULT_TOLERANCE });
  t.is(missing.reason, "sample 'ones' output 'y' was not produced by the model");
});

test('NaN equals NaN only when both are NaN; infinities only the same infinity', (t) => {
  t.true(compareOutputs(fp32(['NaN', 1]), fp32(['NaN', 1]), exact).ok);
  const one = compareOutputs(fp32([1]), fp32(['NaN']), { absolute: 1e9, relative: 0 });
  t.false(one.ok);
  t.is(one.reason, 'element 0: expected 1, got NaN (NaN matches only NaN)');
  t.is(one.maxAbsDiff, 0);
  t.false(compareOutputs(fp32(['NaN']), fp32([1]), DEFAULT_TOLERANCE).ok);
  t.true(compareOutputs(fp32(['Infinity']), fp32(['Infinity']), exact).ok);
  const inf = compareOutputs(fp32(['Infinity']), fp32([5]), { absolute: 1, relative: 1 });
  t.false(inf.ok);
  t.regex(inf.reason!, /an infinity matches only the same infinity/);
  t.false(compareOutputs(fp32(['-Infinity']), fp32(['Infinity']), DEFAULT_TOLERANCE).ok);
});

test('shape and datatype must match exactly, with a reason', (t) => {
  const shape = compareOutputs(fp32([1, 2], [1, 2]), fp32([1, 2], [2, 1]), DEFAULT_TOLERANCE);
  t.deepEqual(shape, { ok: false, maxAbsDiff: 0, withinShare: 0, reason: 'has shape [2,1], golden shape is [1,2]' });
  const dtype = compareOutputs(fp32([1]), { datatype: 'FP64', shape: [1], data: [1] }, DEFAULT_TOLERANCE);
  t.is(dtype.reason, 'has datatype FP64, golden datatype is FP32');
  t.is(
    compareSample('s', { y: fp32([1]) }, { y: fp32([1, 1]) }, { default: DEFAULT_TOLERANCE }).reason,
    "sample 's' output 'y' has shape [2], golden shape is [1]",
  );
});

test('INT64 beyond 2^53 compares exactly as integers', (t) => {
  const int64 = (data: SampleValue[]): SampleTensor => ({ datatype: 'INT64', shape: [data.length], data });
  t.true(compareOutputs(int64(['9007199254740993', 5]), int64(['9007199254740993', 5]), exact).ok);
  // As doubles both would be 9007199254740992.
  const r = compareOutputs(int64(['9007199254740993']), int64(['9007199254740992']), exact);
  t.false(r.ok);
  t.is(r.reason, 'element 0: expected 9007199254740993, got 9007199254740992 (|diff| 1 > allowed 0)');
});

test('BOOL compares as 0 and 1', (t) => {
  const bool = (data: boolean[]): SampleTensor => ({ datatype: 'BOOL', shape: [data.length], data });
  t.true(compareOutputs(bool([true, false]), bool([true, false]), DEFAULT_TOLERANCE).ok);
  t.is(compareOutputs(bool([true, false]), bool([true, true]), DEFAULT_TOLERANCE).firstMismatch?.index, 1);
});
