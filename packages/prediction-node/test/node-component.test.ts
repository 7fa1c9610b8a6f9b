import test from 'ava';
import { GrpcStatus, SwitchyardError, unavailable } from '@switchyard/core';
import { NodeComponents, type NodeComponent } from '../src/node-component.js';
import { capturingLogger } from '@switchyard/testkit';

function recorder(): { events: string[]; component: (name: string, failStart?: unknown, failStop?: unknown) => NodeComponent } {
  const events: string[] = [];
  return {
    events,
    component: (name, failStart, failStop) => ({
      name,
      start: async () => {
        events.push(`start ${name}`);
        await new Promise((r) => setImmediate(r));
        if (failStart !== undefined) throw failStart;
      },
      stop: () => {
        events.push(`stop ${name}`);
        if (failStop !== undefined) throw failStop;
      },
    }),
  };
}

test('components start in order and stop in reverse order, once however often stop is called', async (t) => {
  const { events, component } = recorder();
  const { logger } = capturingLogger();
  const components = new NodeComponents([component('a'), component('b'), component('c')], logger);
  await components.start();
  t.deepEqual(components.running, ['a', 'b', 'c']);
  await Promise.all([components.stop(), components.stop()]);
  t.deepEqual(events, ['start a', 'start b', 'start c', 'stop c', 'stop b', 'stop a']);
  t.deepEqual(components.running, []);
});

test('a failed start stops what had started, in reverse, and throws one SwitchyardError naming the component, logged once', async (t) => {
  const { events, component } = recorder();
  const { logger, records } = capturingLogger();
  const components = new NodeComponents([component('a'), component('b'), component('c', new Error('EADDRINUSE')), component('d')], logger);
  const error = await t.throwsAsync(components.start(), { instanceOf: SwitchyardError });
  t.is(error.code, GrpcStatus.INTERNAL);
  t.is(error.message, 'INTERNAL: c did not start: EADDRINUSE');
  t.is((error.cause as Error).message, 'EADDRINUSE');
  t.deepEqual(events, ['start a', 'start b', 'start c', 'stop b', 'stop a'], 'c never started, d never tried');
  t.deepEqual(components.running, []);
  const errors = records.filter((r) => r.level === 'error');
  t.is(errors.length, 1);
  t.like(errors[0], { component: 'c' });
});

test("a component's own SwitchyardError is kept as it is, not wrapped again", async (t) => {
  const { component } = recorder();
  const own = unavailable('could not listen on 127.0.0.1:1');
  const components = new NodeComponents([component('a'), component('server', own)], capturingLogger().logger);
  const error = await t.throwsAsync(components.start());
  t.is(error, own);
});

test('a component that fails to stop is logged and the others still stop', async (t) => {
  const { events, component } = recorder();
  const { logger, records } = capturingLogger();
  const components = new NodeComponents([component('a'), component('b', undefined, new Error('stuck')), component('c')], logger);
  await components.start();
  await components.stop();
  t.deepEqual(events.slice(3), ['stop c', 'stop b', 'stop a']);
  t.true(records.some((r) => r.level === 'warn' && r['component'] === 'b' && r['error'] === 'stuck'));
});

test('start may be called only once', async (t) => {
  const { component } = recorder();
  const components = new NodeComponents([component('a')], capturingLogger().logger);
  await components.start();
  await t.throwsAsync(components.start(), { instanceOf: TypeError });
  await components.stop();
});
