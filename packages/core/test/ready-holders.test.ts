import test from 'ava';
import { setReadyHolder } from '../src/ready-holders.js';

test('a version gains and loses holders; the array is replaced, never changed in place, and a version nobody holds has no entry', (t) => {
  const holders = new Map<string, readonly string[]>();
  setReadyHolder(holders, 'm/v1', 'n1', true);
  const first = holders.get('m/v1')!;
  setReadyHolder(holders, 'm/v1', 'n2', true);
  t.deepEqual(holders.get('m/v1'), ['n1', 'n2']);
  t.deepEqual(first, ['n1'], 'the earlier array is unchanged');
  t.true(Object.isFrozen(holders.get('m/v1')));
  const before = holders.get('m/v1');
  setReadyHolder(holders, 'm/v1', 'n2', true);
  t.is(holders.get('m/v1'), before, 'nothing changed: same array');
  setReadyHolder(holders, 'm/v1', 'n1', false);
  t.deepEqual(holders.get('m/v1'), ['n2']);
  setReadyHolder(holders, 'm/v1', 'n2', false);
  t.false(holders.has('m/v1'));
  setReadyHolder(holders, 'm/v2', 'n1', false);
  t.false(holders.has('m/v2'));
});
