import anyTest, { type TestFn } from 'ava';
import { checkExpectedRevision, checkSplits } from '../src/route-splits.js';
import { checkName, compareVersionNames, nextVersionName } from '../src/index.js';

const test = anyTest as TestFn;

test('names follow core NAME_PATTERN and errors state the rule', (t) => {
  for (const ok of ['a', 'A', 'v1', 'my-model.v2_b', 'ResNet50_v1.5', 'densenet_onnx', 'x'.repeat(64)]) t.is(checkName('model', ok), ok);
  for (const bad of ['', '-a', 'a-', '_a', 'a/b', 'a b', 'a%2F', 'é', 'x'.repeat(65)]) {
    t.throws(() => checkName('version', bad), { message: /INVALID_ARGUMENT: .*A-Z, a-z, 0-9/ });
  }
});

test('the next automatic version is one past the highest vN', (t) => {
  t.is(nextVersionName([]), 'v1');
  t.is(nextVersionName(['v1', 'v3', 'canary', 'v2']), 'v4');
  t.is(nextVersionName(['rc7', 'v01']), 'v2');
  t.is(nextVersionName(['v99999999999999999999']), 'v100000000000000000000');
});

test('versions sort by numeric suffix, then by name', (t) => {
  t.deepEqual(['v10', 'b', 'v2', 'rc2', 'a', 'v1'].sort(compareVersionNames), ['v1', 'rc2', 'v2', 'v10', 'a', 'b']);
});

test('splits and expected revisions are checked', (t) => {
  t.deepEqual(checkSplits([{ version: 'v1', weight: 2500 }, { version: 'v2', weight: 7500 }]), [
    { version: 'v1', weight: 2500 },
    { version: 'v2', weight: 7500 },
  ]);
  t.throws(() => checkSplits([{ version: 'v1', weight: 2500.5 }, { version: 'v2', weight: 7499.5 }]), { message: /integer basis points/ });
  t.is(checkExpectedRevision('0'), '0');
  t.is(checkExpectedRevision(42), '42');
  t.throws(() => checkExpectedRevision('-3'), { message: /expected_revision/ });
});
