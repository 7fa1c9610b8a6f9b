import test from 'ava';
import { adminService } from '@switchyard/core/grpc';
import { composeHandlers } from '../src/admin-handlers.js';

const service = adminService().service;
const noop = (): void => {};
/** A handler for every RPC of the admin service. */
const every = Object.fromEntries(Object.keys(service).map((rpc) => [rpc, noop]));

test('groups that together serve every RPC once compose into one handler map', (t) => {
  const [first, ...rest] = Object.keys(every);
  const handlers = composeHandlers(service, [
    { owner: 'a', handlers: { [first!]: noop } },
    { owner: 'b', handlers: Object.fromEntries(rest.map((rpc) => [rpc, noop])) },
  ]);
  t.deepEqual(Object.keys(handlers).sort(), Object.keys(service).sort());
});

test('an RPC served by two groups is an error at start naming both, not a silent override', (t) => {
  const error = t.throws(() => composeHandlers(service, [
    { owner: 'admin', handlers: every },
    { owner: 'retirement', handlers: { GetVersion: noop } },
  ]));
  t.is(error?.message, 'admin RPC GetVersion is served by both admin and retirement; one RPC has one handler');
});

test('an RPC the service does not define, or one nobody serves, is an error at start', (t) => {
  t.throws(() => composeHandlers(service, [{ owner: 'admin', handlers: { ...every, Frobnicate: noop } }]), {
    message: 'admin serves Frobnicate, which the admin service does not define',
  });
  const { ListHistory: _left, ...allButOne } = every;
  t.throws(() => composeHandlers(service, [{ owner: 'admin', handlers: allButOne }]), { message: 'admin RPCs without a handler: ListHistory' });
});
