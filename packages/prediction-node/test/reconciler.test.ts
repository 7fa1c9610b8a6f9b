import test from 'ava';
import { GrpcStatus, SwitchyardError, type RouteRecord, type VersionRecord } from '@switchyard/core';
import { LoadedVersion } from '../src/loaded-version.js';
import { Reconciler, type StatusSink } from '../src/reconciler.js';
import type { VersionSession } from '../src/session-interface.js';
import type { TargetState, TargetStateView } from '../src/target-state.js';
import { VersionStats } from '../src/version-stats.js';
import { capturingLogger } from '@switchyard/testkit';

// Only the fields the reconciler reads.
const record = (version: string): VersionRecord => ({ model: 'm', version, artifact: { sha256: version.repeat(64).slice(0, 64) } }) as unknown as VersionRecord;
const route = (version: string): RouteRecord =>
  ({ model: 'm', splits: [{ version, weight: 10_000 }], shadows: [], slots: [{ start: 0, end: 10_000, version }] }) as unknown as RouteRecord;
const state = (revision: number, version: string): TargetState => ({
  revision,
  versions: new Map([[`m/${version}`, record(version)]]),
  routes: new Map([['m', route(version)]]),
});

class FakeTarget implements TargetStateView {
  value: TargetState | undefined;
  current(): TargetState | undefined {
    return this.value;
  }
}

/** A loader whose loads end when the test says so. */
function controlledLoader() {
  const pending = new Map<string, { resolve: (v: LoadedVersion) => void; reject: (e: Error) => void; record: VersionRecord }>();
  const session = { host: 'inline', release: async () => undefined } as unknown as VersionSession;
  return {
    loader: {
      load: (r: VersionRecord) => new Promise<LoadedVersion>((resolve, reject) => pending.set(r.version, { resolve, reject, record: r })),
    },
    succeed: (version: string) => {
      const p = pending.get(version)!;
      p.resolve(new LoadedVersion(p.record, session, new VersionStats('m', version), 1));
    },
    fail: (version: string) => pending.get(version)!.reject(new Error('bad bytes')),
    started: () => [...pending.keys()],
  };
}

const status: StatusSink = { report: () => undefined, clear: () => undefined };
const tick = () => new Promise((r) => setImmediate(r));

function settledFlag(reconciler: Reconciler): { settled: boolean; error: unknown } {
  const flag = { settled: false, error: undefined as unknown };
  reconciler.whenSettled().then(
    () => (flag.settled = true),
    (err: unknown) => (flag.error = err),
  );
  return flag;
}

test('whenSettled waits for the first target state and for every wanted version to load', async (t) => {
  const target = new FakeTarget();
  const loads = controlledLoader();
  const reconciler = new Reconciler({ target, loader: loads.loader, status, logger: capturingLogger().logger });
  t.teardown(() => reconciler.stop());
  const flag = settledFlag(reconciler);
  reconciler.reconcile();
  await tick();
  t.false(flag.settled, 'no target state read yet');

  target.value = state(1, 'v1');
  reconciler.reconcile();
  await tick();
  t.deepEqual(loads.started(), ['v1']);
  t.false(flag.settled, 'v1 still loading');

  loads.succeed('v1');
  await tick();
  await tick();
  t.true(flag.settled);
  t.true(reconciler.isSettled());
  t.true(reconciler.table.routes.has('m'));
  await reconciler.whenSettled();
});

test('a failed load settles too: readiness does not wait for its retry', async (t) => {
  const target = new FakeTarget();
  target.value = state(1, 'v1');
  const loads = controlledLoader();
  const reconciler = new Reconciler({ target, loader: loads.loader, status, logger: capturingLogger().logger, retryMinMs: 60_000 });
  t.teardown(() => reconciler.stop());
  reconciler.reconcile();
  const flag = settledFlag(reconciler);
  await tick();
  t.false(flag.settled);
  loads.fail('v1');
  await tick();
  await tick();
  t.true(flag.settled);
  t.is(reconciler.table.routes.size, 0, 'nothing to serve, but settled');
});

test('whenSettled rejects with FAILED_PRECONDITION when the reconciler stops first, and after', async (t) => {
  const target = new FakeTarget();
  target.value = state(1, 'v1');
  const reconciler = new Reconciler({ target, loader: controlledLoader().loader, status, logger: capturingLogger().logger });
  reconciler.reconcile();
  const waiting = reconciler.whenSettled();
  await reconciler.stop();
  const error = await t.throwsAsync(waiting, { instanceOf: SwitchyardError });
  t.is(error.code, GrpcStatus.FAILED_PRECONDITION);
  await t.throwsAsync(reconciler.whenSettled(), { instanceOf: SwitchyardError });
});

test('a pass rebuilds the routing table of the models that changed only, and reuses the others', async (t) => {
  const rec = (model: string, version: string) => ({ ...record(version), model }) as VersionRecord;
  const rt = (model: string, version: string) => ({ ...route(version), model }) as RouteRecord;
  const target = new FakeTarget();
  const loads = controlledLoader();
  const reconciler = new Reconciler({ target, loader: loads.loader, status, logger: capturingLogger().logger });
  t.teardown(() => reconciler.stop());
  const a = rt('a', 'a1');
  target.value = { revision: 1, versions: new Map([['a/a1', rec('a', 'a1')], ['b/b1', rec('b', 'b1')]]), routes: new Map([['a', a], ['b', rt('b', 'b1')]]) };
  reconciler.reconcile();
  await tick();
  loads.succeed('a1');
  loads.succeed('b1');
  await tick();
  await tick();
  const routeA = reconciler.table.routes.get('a');
  const routeB = reconciler.table.routes.get('b');
  t.truthy(routeA);

  // b's route changes (a new record object, as a new etcd value gives); a's record is the same object.
  target.value = { ...target.value, revision: 2, routes: new Map([['a', a], ['b', { ...rt('b', 'b1') }]]) };
  reconciler.reconcile();
  await tick();
  t.is(reconciler.table.routes.get('a'), routeA, "a's table reused");
  t.not(reconciler.table.routes.get('b'), routeB, "b's table rebuilt");
  t.is(reconciler.table.routes.get('b')?.entries[0]?.loaded.version, 'b1');

  // a's route goes away: so does its table, and a later route for it is built afresh.
  target.value = { ...target.value, revision: 3, routes: new Map([['b', rt('b', 'b1')]]) };
  reconciler.reconcile();
  await tick();
  t.false(reconciler.table.routes.has('a'));
});
