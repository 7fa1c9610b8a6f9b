import test from 'ava';
import { checkSteps, DEFAULT_ROLLOUT_STEPS, endSplits, stepSplits } from '../src/index.js';

test('steps: none gives the defaults; valid ones are kept', (t) => {
  t.deepEqual(checkSteps([]), [...DEFAULT_ROLLOUT_STEPS]);
  t.deepEqual(checkSteps([0.5, 10, 100]), [0.5, 10, 100]);
  t.deepEqual(checkSteps([100]), [100]);
});

test('steps that do not increase, do not end at 100 or are finer than a basis point are refused', (t) => {
  t.throws(() => checkSteps([5, 5, 100]), { message: /steps must increase; 5 follows 5/ });
  t.throws(() => checkSteps([10, 50]), { message: /the last step must be 100/ });
  t.throws(() => checkSteps([0, 100]), { message: /step 0 is not a percentage above 0/ });
  t.throws(() => checkSteps([120]), { message: /step 120/ });
  t.throws(() => checkSteps([0.001, 100]), { message: /finer than 0\.01%/ });
});

test('a step moves the share of the two versions only; other versions keep their weight', (t) => {
  t.deepEqual(stepSplits([{ version: 'v1', weight: 10_000 }], 'v1', 'v2', 0), [
    { version: 'v1', weight: 10_000 },
    { version: 'v2', weight: 0 },
  ]);
  t.deepEqual(stepSplits([{ version: 'v1', weight: 10_000 }, { version: 'v2', weight: 0 }], 'v1', 'v2', 25), [
    { version: 'v1', weight: 7500 },
    { version: 'v2', weight: 2500 },
  ]);
  const withOther = [
    { version: 'v1', weight: 8000 },
    { version: 'v2', weight: 0 },
    { version: 'v0', weight: 2000 },
  ];
  t.deepEqual(stepSplits(withOther, 'v1', 'v2', 50), [
    { version: 'v1', weight: 4000 },
    { version: 'v2', weight: 4000 },
    { version: 'v0', weight: 2000 },
  ]);
  t.deepEqual(endSplits(stepSplits(withOther, 'v1', 'v2', 50), 'v1', 'v2'), [
    { version: 'v1', weight: 8000 },
    { version: 'v0', weight: 2000 },
  ]);
  t.deepEqual(endSplits(stepSplits(withOther, 'v1', 'v2', 50), 'v2', 'v1'), [
    { version: 'v2', weight: 8000 },
    { version: 'v0', weight: 2000 },
  ]);
});
