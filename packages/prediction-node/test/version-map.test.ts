import test from 'ava';
import type { VersionRecord } from '@switchyard/core';
import { capturingLogger } from '@switchyard/testkit';
import { VersionMapBuilder } from '../src/version-map.js';

function raw(model: string, version: string, description = ''): string {
  const record: VersionRecord = {
    model,
    version,
    artifact: { sha256: 'a'.repeat(64), size: 1 },
    signature: { inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 3] }], outputs: [{ name: 'y', datatype: 'FP32', shape: [-1, 1] }] },
    createdAt: '2026-12-06T00:00:00.000Z',
    createdBy: 't',
    description,
    labels: {},
    expiresAfterSeconds: 0,
    samples: null,
  };
  return JSON.stringify(record);
}

test('snapshots stay as they were taken while the builder changes, across the folding of the delta into a new base', (t) => {
  const { logger } = capturingLogger();
  const builder = new VersionMapBuilder(logger);
  for (let i = 0; i < 1000; i++) builder.set(`m${i}`, 'v1', raw(`m${i}`, 'v1'), `k/m${i}/v1`);
  const first = builder.snapshot();
  t.is(first.size, 1000);
  t.is(first.get('m7/v1')?.model, 'm7');

  const taken = [first];
  // Enough changes to fold the delta (at √size, at least 64) several times.
  for (let i = 0; i < 300; i++) {
    builder.set(`m${i}`, 'v1', raw(`m${i}`, 'v1', `change ${i}`), `k/m${i}/v1`);
    if (i % 50 === 0) builder.delete(`m${500 + i}`, 'v1');
    if (i % 75 === 0) builder.set(`new${i}`, 'v1', raw(`new${i}`, 'v1'), `k/new${i}/v1`);
    taken.push(builder.snapshot());
  }
  t.is(first.get('m0/v1')?.description, '', 'an old snapshot keeps the old record');
  t.is(first.size, 1000);
  const last = taken[taken.length - 1]!;
  t.is(last.get('m0/v1')?.description, 'change 0');
  t.is(last.get('m299/v1')?.description, 'change 299');
  t.is(last.get('m500/v1'), undefined, 'deleted');
  t.false(last.has('m550/v1'));
  t.true(last.has('new75/v1'));
  t.is(last.size, 1000 - 6 + 4);
  t.is([...last.keys()].length, last.size);
  t.is(new Set(last.keys()).size, last.size, 'no key twice');
  t.is([...last.values()].filter((v) => v.description.startsWith('change')).length, 300);
  // A snapshot from the middle shows exactly the changes made before it.
  const middle = taken[100]!;
  t.is(middle.get('m99/v1')?.description, 'change 99');
  t.is(middle.get('m100/v1')?.description, '');
});

test('an invalid record, or one naming another version than its key, reads as absent and is logged once', (t) => {
  const captured = capturingLogger();
  const builder = new VersionMapBuilder(captured.logger);
  builder.set('m', 'v1', '{"not":"a version"}', 'k/m/v1');
  builder.set('m', 'v2', raw('m', 'v3'), 'k/m/v2');
  builder.set('m', 'v4', raw('m', 'v4'), 'k/m/v4');
  const map = builder.snapshot();
  t.is(map.get('m/v1'), undefined);
  t.is(map.get('m/v1'), undefined);
  t.is(map.get('m/v2'), undefined);
  t.deepEqual([...map.keys()], ['m/v4']);
  t.is(map.size, 3, 'size counts the keys, valid or not');
  t.deepEqual(
    captured.records.filter((r) => r['message'] === 'ignoring invalid version record').map((r) => r['key']),
    ['k/m/v1', 'k/m/v2'],
  );
});
