import test from 'ava';
import { KeyLayout } from '@switchyard/core';
import { capturingLogger } from '@switchyard/testkit';
import { TargetStateBuilder } from '../src/target-state.js';

const keys = new KeyLayout('/t/');
const base = { model: 'm', updatedAt: '2026-11-28T18:00:00.000Z', splits: [{ version: 'a', weight: 6000 }, { version: 'b', weight: 4000 }] };

test('a route without slots gets slots derived from its splits, silently', (t) => {
  const { logger, messages } = capturingLogger();
  const builder = new TargetStateBuilder(keys, logger);
  builder.apply(keys.route('m'), JSON.stringify(base));
  t.deepEqual(builder.snapshot(1).routes.get('m')?.slots, [
    { start: 0, end: 6000, version: 'a' },
    { start: 6000, end: 10000, version: 'b' },
  ]);
  t.deepEqual(messages(), []);
});

test('stored slots that match the weights are kept; ones that do not are replaced by derived ones and logged', (t) => {
  const { logger, messages } = capturingLogger();
  const builder = new TargetStateBuilder(keys, logger);
  const slots = [
    { start: 0, end: 4000, version: 'b' },
    { start: 4000, end: 10000, version: 'a' },
  ];
  builder.apply(keys.route('m'), JSON.stringify({ ...base, slots }));
  t.deepEqual(builder.snapshot(1).routes.get('m')?.slots, slots);
  builder.apply(keys.route('m'), JSON.stringify({ ...base, slots: [{ start: 0, end: 10000, version: 'a' }] }));
  t.deepEqual(builder.snapshot(2).routes.get('m')?.slots, [
    { start: 0, end: 6000, version: 'a' },
    { start: 6000, end: 10000, version: 'b' },
  ]);
  t.is(messages().length, 1);
  t.regex(messages()[0]!, /slots do not match/);
});
