import test from 'ava';
import { checkInheritedRuntime, checkRuntimeSettings, DEFAULT_RUNTIME, resolveRuntime, runtimeFromMessage, runtimeKey, runtimeToMessage, type Signature } from '../src/index.js';

const dynamic: Signature = { inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 3] }], outputs: [{ name: 'y', datatype: 'FP32', shape: [-1, 1] }] };
const fixed: Signature = { inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 3] }, { name: 'mask', datatype: 'BOOL', shape: [1, 3] }], outputs: dynamic.outputs };

test('the version wins over the model, the model over the defaults, field by field', (t) => {
  const r = resolveRuntime({ maxBatchSize: 8, instances: 2 }, { maxBatchSize: 32, queueTimeoutMs: 50 });
  t.deepEqual(r, { ...DEFAULT_RUNTIME, maxBatchSize: 32, instances: 2, queueTimeoutMs: 50 });
  t.deepEqual(resolveRuntime(undefined, undefined), DEFAULT_RUNTIME);
  t.not(runtimeKey(r), runtimeKey(DEFAULT_RUNTIME));
  t.is(runtimeKey(resolveRuntime(undefined, { instances: 2, maxBatchSize: 8 })), runtimeKey(resolveRuntime({ maxBatchSize: 8 }, { instances: 2 })));
});

test('a batch size on a model with a fixed first dimension is refused, naming the input', (t) => {
  t.deepEqual(checkRuntimeSettings({ maxBatchSize: 16 }, dynamic), { maxBatchSize: 16 });
  const err = t.throws(() => checkRuntimeSettings({ maxBatchSize: 16 }, fixed));
  t.regex(err.message, /runtime\.maxBatchSize: 16 needs a variable first dimension on every input, and input 'mask' has shape \[1, 3\]/);
  t.notThrows(() => checkRuntimeSettings({ maxBatchSize: 1 }, fixed));
});

test('bad values and unknown fields are refused naming the field', (t) => {
  t.regex(t.throws(() => checkRuntimeSettings({ maxBatchSize: 0 })).message, /runtime\.maxBatchSize/);
  t.regex(t.throws(() => checkRuntimeSettings({ queueSize: 1.5 })).message, /runtime\.queueSize/);
  t.regex(t.throws(() => checkRuntimeSettings({ warmup: 'ones' })).message, /runtime\.warmup/);
  t.regex(t.throws(() => checkRuntimeSettings({ maxBatchSise: 4 })).message, /runtime/);
  t.regex(t.throws(() => checkRuntimeSettings({ maxBatchSize: 8, preferredBatchSizes: [4, 16] })).message, /preferredBatchSizes: 16 is above maxBatchSize 8/);
});

test('the API form round-trips; an empty message sets nothing', (t) => {
  const settings = { maxBatchSize: 32, maxBatchDelayMs: 2, preferredBatchSizes: [16, 32], queueTimeoutMs: 100, warmup: 'zeros' as const, runTimeoutMs: 500 };
  t.deepEqual(runtimeFromMessage(runtimeToMessage(settings)), settings);
  t.is(runtimeFromMessage({ preferred_batch_sizes: [] }), undefined);
  t.is(runtimeFromMessage(null), undefined);
  t.is(runtimeToMessage(undefined), null);
});

test("a model's new defaults are checked against the versions that take them, naming version and input", (t) => {
  const heirs = [
    { version: 'v1', signature: dynamic },
    { version: 'v2', signature: fixed, runtime: { maxBatchSize: 1 } },
    { version: 'v3', signature: fixed },
  ];
  const err = t.throws(() => checkInheritedRuntime({ maxBatchSize: 8 }, heirs));
  t.regex(err.message, /runtime\.maxBatchSize: 8 would apply to version 'v3'.*input 'mask' has shape \[1, 3\]/);
  // v2 keeps its own batch size of 1; without v3 nothing is refused.
  t.notThrows(() => checkInheritedRuntime({ maxBatchSize: 8 }, heirs.slice(0, 2)));
  t.notThrows(() => checkInheritedRuntime({ queueSize: 4 }, heirs));
  t.notThrows(() => checkInheritedRuntime(undefined, heirs));
  // Preferred sizes from one level above a batch size from the other.
  const own = [{ version: 'v4', signature: dynamic, runtime: { maxBatchSize: 4 } }];
  t.regex(t.throws(() => checkInheritedRuntime({ preferredBatchSizes: [8] }, own)).message, /version 'v4' would run with preferredBatchSizes 8 above its maxBatchSize 4/);
  t.notThrows(() => checkInheritedRuntime({ preferredBatchSizes: [8] }, [{ version: 'v5', signature: dynamic }]), 'no batching: preferred sizes do nothing');
});
