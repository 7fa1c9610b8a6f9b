import test from 'ava';
import type { Endpoint } from '../src/endpoint.js';
import { EndpointPicker } from '../src/endpoint-picker.js';

const fake = (address: string, serving: boolean): Endpoint => ({ address, serving }) as unknown as Endpoint;

test('round robin over serving endpoints only', (t) => {
  const [a, b, c] = [fake('a:1', true), fake('b:1', false), fake('c:1', true)];
  const picker = new EndpointPicker([a, b, c]);
  t.deepEqual(picker.ready, [a, c]);
  t.deepEqual([picker.pick(), picker.pick(), picker.pick(), picker.pick()], [a, c, a, c]);
});

test('avoids endpoints already tried while it can, and returns undefined when none serves', (t) => {
  const [a, c] = [fake('a:1', true), fake('c:1', true)];
  const picker = new EndpointPicker([a, c]);
  for (let i = 0; i < 4; i++) t.is(picker.pick(new Set([a])), c);
  t.truthy(picker.pick(new Set([a, c])), 'every endpoint tried: reuse one');
  t.is(new EndpointPicker([fake('x:1', false)]).pick(), undefined);
});

test('a rebuilt picker keeps rotating where the last one stopped', (t) => {
  const [a, c] = [fake('a:1', true), fake('c:1', true)];
  let picker = new EndpointPicker([a, c]);
  const picked: Endpoint[] = [];
  // Health or discovery changes between calls replace the picker each time.
  for (let i = 0; i < 4; i++) {
    picked.push(picker.pick()!);
    picker = new EndpointPicker([a, c], picker);
  }
  t.deepEqual(picked, [a, c, a, c]);
});
