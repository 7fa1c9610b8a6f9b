import test from 'ava';
import { advertisedHttpAddress } from '../src/node-registration.js';

test('the REST address published is the bound one, or the advertised host at the REST port', (t) => {
  t.is(advertisedHttpAddress('127.0.0.1:8080', undefined), '127.0.0.1:8080');
  t.is(advertisedHttpAddress('0.0.0.0:8080', 'node-1.internal:8001'), 'node-1.internal:8080');
  t.is(advertisedHttpAddress('[::]:8080', '[fd00::1]:8001'), '[fd00::1]:8080');
});
