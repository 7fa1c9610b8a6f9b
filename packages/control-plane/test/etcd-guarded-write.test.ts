import anyTest, { type TestFn } from 'ava';
import { GrpcStatus, SwitchyardError, unavailable, type KeyLayout, type ModelRecord, type RouteRecord } from '@switchyard/core';
import { createEtcdClient } from '@switchyard/core/etcd';
import { EtcdAccess } from '../src/etcd-client.js';
import { GuardedWrite } from '../src/etcd-guarded-write.js';
import { EtcdTables } from '../src/etcd-tables.js';
import { historyEntry } from '../src/index.js';
import { capturingLogger, freshKeys, useEtcd } from './helpers/harness.js';
import { seedModel, versionRecord } from './helpers/seed.js';

const test = anyTest as TestFn;
const etcd = useEtcd(test);

const at = '2026-12-01T00:00:00.000Z';

function tables(): EtcdTables {
  return new EtcdTables({ etcd: etcd().client, keys: freshKeys(), logger: capturingLogger().logger });
}

const entry = (model: string, action = 'Test') => historyEntry({ at: new Date().toISOString(), actor: 'test', action, model, before: null, after: null });

const modelRecord = (name: string, description = ''): ModelRecord => ({ name, owner: '', description, defaultExpiresAfterSeconds: 0, createdAt: at, updatedAt: at });

/** Every key under the model's audit log, with its mod revision. */
async function auditKeys(t: EtcdTables, model: string): Promise<{ key: string; modRevision: string }[]> {
  const { kvs } = await t.access.range({ prefix: t.keys.historyPrefix(model) });
  return kvs.map((kv) => ({ key: kv.key.toString(), modRevision: kv.mod_revision }));
}

/** An EtcdAccess that counts transactions and never reaches etcd. */
function countingAccess(): { access: EtcdAccess; calls: () => number } {
  let calls = 0;
  const access = {
    txn: () => {
      calls++;
      return Promise.reject(new Error('etcd must not be called'));
    },
  } as unknown as EtcdAccess;
  return { access, calls: () => calls };
}

test('a value that fails its schema is refused before etcd is called, and nothing is written', async (t) => {
  const keys: KeyLayout = freshKeys();
  const { access, calls } = countingAccess();
  const badRoute = { model: 'm', splits: [{ version: 'v1', weight: 5000 }], updatedAt: at, updatedBy: '', shadows: [], rollout: null };
  const outcome = await new GuardedWrite(access, keys).expectRevision(keys.route('m'), '0').put(keys.route('m'), badRoute).audit(entry('m')).commit();
  t.is(outcome.status, 'refused');
  t.is(calls(), 0);
  if (outcome.status === 'refused') {
    t.is(outcome.key, keys.route('m'));
    t.regex(outcome.error, /route record fails its schema/);
  }

  // The same against a real etcd: neither the route nor its audit entry lands.
  const real = tables();
  const refused = await real.write().expectRevision(real.keys.route('m'), '0').put(real.keys.route('m'), badRoute).audit(entry('m')).commit();
  t.is(refused.status, 'refused');
  t.is((await real.access.get(real.keys.route('m'))).kv, undefined);
  t.deepEqual(await auditKeys(real, 'm'), []);
});

test('a record under a key it does not name, a runtime key, a write without compare or without audit entry: all refused before etcd', async (t) => {
  const keys = freshKeys();
  const { access, calls } = countingAccess();
  const write = () => new GuardedWrite(access, keys);
  const cases = [
    write().expectRevision(keys.model('a'), '0').put(keys.model('a'), modelRecord('b')).audit(entry('a')),
    write().expectRevision(keys.node('n1'), '0').put(keys.node('n1'), { id: 'n1' }).audit(entry('a')),
    write().put(keys.model('a'), modelRecord('a')).audit(entry('a')),
    write().expectRevision(keys.model('a'), '0').put(keys.model('a'), modelRecord('a')),
    write().expectRevision(keys.model('a'), '0').deletePrefix(keys.usagePrefix('a')).audit(entry('a')),
  ];
  for (const w of cases) t.is((await w.commit()).status, 'refused');
  t.is(calls(), 0);
});

test('the tables throw INTERNAL for a refused write: a route that fails its schema is never stored', async (t) => {
  const s = tables();
  const bad: RouteRecord = { model: 'm', splits: [{ version: 'v1', weight: 1 }], updatedAt: at, updatedBy: '', shadows: [], rollout: null };
  const err = await t.throwsAsync(s.routes.put(bad, '0', new Map(), entry('m')), { instanceOf: SwitchyardError });
  t.is(err?.code, GrpcStatus.INTERNAL);
  t.is((await s.access.get(s.keys.route('m'))).kv, undefined);
});

test('a revision that moved between read and write: conflict naming the key, and neither the write nor its audit entry lands', async (t) => {
  const s = tables();
  t.is((await s.models.create(modelRecord('m'), entry('m', 'CreateModel'))).status, 'created');
  const read = await s.models.get('m');
  // Someone else changes the model after it was read.
  t.truthy(await s.models.update(modelRecord('m', 'theirs'), read!.modRevision, entry('m', 'UpdateModel')));
  const now = await s.models.get('m');
  const auditBefore = await auditKeys(s, 'm');

  const outcome = await s.models.stage(s.write().expectStored(read!), modelRecord('m', 'mine')).audit(entry('m', 'Mine')).commit();
  t.deepEqual(outcome, {
    status: 'conflict',
    changed: [{ key: s.keys.model('m'), expected: read!.modRevision, now: { modRevision: now!.modRevision, createRevision: now!.createRevision } }],
  });
  t.is((await s.models.get('m'))!.value.description, 'theirs');
  t.deepEqual(await auditKeys(s, 'm'), auditBefore);
});

test('a key written under a compared prefix after the read revision: conflict, nothing written', async (t) => {
  const s = tables();
  await seedModel(etcd().client, s.keys, { model: 'm', routed: 'v1', versions: [versionRecord('m', 'v1', { createdAt: at })], at });
  const [v1] = await s.versions.list('m');
  const { revision } = await s.figures.usage('m');
  await etcd().client.put(s.keys.usage('m', 'v1', 'node-1')).value(JSON.stringify({ nodeId: 'node-1', model: 'm', version: 'v1', lastPrimaryAt: at, lastShadowAt: null, updatedAt: at }));

  const pinned = { ...v1!.value, pinned: true };
  const write = s.write().expectUnchangedSince(s.keys.usagePrefix('m', 'v1'), revision).audit(entry('m', 'PinVersion'));
  const outcome = await s.versions.stage(write, v1!, pinned).commit();
  t.deepEqual(outcome, { status: 'conflict', changed: [] });
  t.is((await s.versions.get('m', 'v1'))!.value.pinned, undefined);
  t.deepEqual(await auditKeys(s, 'm'), []);
});

test('the audit entries land in the transaction of the write: same revision, one entry per change', async (t) => {
  const s = tables();
  await seedModel(etcd().client, s.keys, { model: 'm', routed: 'v1', versions: [versionRecord('m', 'v1', { createdAt: at })], at });
  const model = await s.models.get('m');
  const route = await s.routes.get('m');
  const write = s.write();
  s.models.stage(write.expectStored(model!), { ...model!.value, description: 'both' }).audit(entry('m', 'UpdateModel'));
  s.routes.stage(write.expectStored(route!), { ...route!.value, updatedBy: 'both' }).audit(entry('m', 'SetRoute'));
  const outcome = await write.commit();
  t.is(outcome.status, 'written');
  if (outcome.status !== 'written') return;

  const audit = await auditKeys(s, 'm');
  t.is(audit.length, 2);
  for (const a of audit) t.is(a.modRevision, outcome.revision);
  t.is((await s.models.get('m'))!.modRevision, outcome.revision);
  t.is((await s.routes.get('m'))!.modRevision, outcome.revision);
  t.deepEqual((await s.audit.read('m', { limit: 10 })).entries.map((e) => e.record.action).sort(), ['SetRoute', 'UpdateModel']);
});

test('a write commits once', async (t) => {
  const s = tables();
  const write = s.models.stage(s.write().expectRevision(s.keys.model('m'), '0'), modelRecord('m')).audit(entry('m'));
  t.is((await write.commit()).status, 'written');
  t.is((await write.commit()).status, 'refused');
  t.is((await auditKeys(s, 'm')).length, 1);
});

test('etcd errors reach callers converted: a closed client gives UNAVAILABLE from reads, deletes and transactions', async (t) => {
  const client = createEtcdClient({ endpoints: etcd().process.endpoint });
  client.close();
  const s = new EtcdTables({ etcd: client, keys: freshKeys(), logger: capturingLogger().logger });
  for (const call of [
    () => s.routes.listValid(),
    () => s.figures.deleteUsage('m', 'v1'),
    () => s.models.create(modelRecord('m'), entry('m')),
  ]) {
    const err = await t.throwsAsync(call(), { instanceOf: SwitchyardError });
    t.is(err?.code, GrpcStatus.UNAVAILABLE);
  }
});

/**
 * An EtcdAccess over the real one whose transactions fail as a time-out
 * does, before or after reaching etcd as `plan` says, one entry per send;
 * sends past the plan go through. Reads fail while `readsFail` is set.
 */
function flakyAccess(real: EtcdAccess, plan: ('apply-then-fail' | 'fail')[], readsFail = false): { access: EtcdAccess; sends: () => number } {
  let sends = 0;
  const timeout = (): SwitchyardError => unavailable('etcd is unreachable (deadline exceeded)');
  const access = {
    txn: async (...args: Parameters<EtcdAccess['txn']>) => {
      const step = plan[sends++];
      if (step === 'fail') throw timeout();
      const result = await real.txn(...args);
      if (step === 'apply-then-fail') throw timeout();
      return result;
    },
    get: async (...args: Parameters<EtcdAccess['get']>) => {
      if (readsFail) throw timeout();
      return real.get(...args);
    },
  } as unknown as EtcdAccess;
  return { access, sends: () => sends };
}

test('a write etcd applied but never confirmed: settled by its audit entry, written once at its real revision', async (t) => {
  const s = tables();
  const { access, sends } = flakyAccess(s.access, ['apply-then-fail']);
  const write = new GuardedWrite(access, s.keys).expectRevision(s.keys.model('m'), '0').put(s.keys.model('m'), modelRecord('m')).audit(entry('m'));
  const outcome = await write.commit();
  const stored = (await s.access.get(s.keys.model('m'))).kv;
  t.deepEqual(outcome, { status: 'written', revision: stored?.mod_revision ?? 'absent' });
  t.is(sends(), 1, 'not sent again: the audit entry showed it applied');
  t.is((await auditKeys(s, 'm')).length, 1);
});

test('a write that never reached etcd: sent again once, applied once', async (t) => {
  const s = tables();
  const { access, sends } = flakyAccess(s.access, ['fail']);
  const outcome = await new GuardedWrite(access, s.keys).expectRevision(s.keys.model('m'), '0').put(s.keys.model('m'), modelRecord('m')).audit(entry('m')).commit();
  t.is(outcome.status, 'written');
  t.is(sends(), 2);
  t.is((await auditKeys(s, 'm')).length, 1);
});

test('a write whose outcome etcd cannot tell (no answer, and the read back fails): UNAVAILABLE saying so, never a false failure', async (t) => {
  const s = tables();
  const { access } = flakyAccess(s.access, ['apply-then-fail'], true);
  const err = await t.throwsAsync(
    new GuardedWrite(access, s.keys).expectRevision(s.keys.model('m'), '0').put(s.keys.model('m'), modelRecord('m')).audit(entry('m')).commit(),
    { instanceOf: SwitchyardError },
  );
  t.is(err?.code, GrpcStatus.UNAVAILABLE);
  t.regex(err?.message ?? '', /whether it applied cannot be told.*switchyard history/);
  t.is((await auditKeys(s, 'm')).length, 1, 'applied once');
});

test('a request larger than etcd accepts: RESOURCE_EXHAUSTED, and the client stays usable for everyone', async (t) => {
  const client = createEtcdClient({ endpoints: etcd().process.endpoint });
  t.teardown(() => client.close());
  const s = new EtcdTables({ etcd: client, keys: freshKeys(), logger: capturingLogger().logger });
  // Past the layer's own limits (straight through the boundary): etcd refuses it for size.
  const err = await t.throwsAsync(s.access.txn([], [{ put: s.keys.model('big'), value: 'x'.repeat(3_000_000) }]), { instanceOf: SwitchyardError });
  t.is(err?.code, GrpcStatus.RESOURCE_EXHAUSTED, err?.message);
  // Before, etcd3 sent it four times and its circuit breaker then failed every call as "etcd is unreachable".
  for (let i = 0; i < 5; i++) t.is((await s.access.get(s.keys.model('big'))).kv, undefined);
  t.is((await s.models.create(modelRecord('m'), entry('m'))).status, 'created');
});

test('another write holding the same audit entry id: this write reports a conflict, never the other one\'s success', async (t) => {
  const s = tables();
  let sends = 0;
  const access = {
    txn: async (...args: Parameters<EtcdAccess['txn']>) => {
      sends++;
      // The guard compare is the last one: take its key first, as a write in the same millisecond with the same random suffix would.
      const guard = args[0][args[0].length - 1] as { key: string };
      await s.access.txn([], [{ put: guard.key, value: JSON.stringify(entry('m', 'Other')) }]);
      return s.access.txn(...args);
    },
    get: (...args: Parameters<EtcdAccess['get']>) => s.access.get(...args),
  } as unknown as EtcdAccess;
  const outcome = await new GuardedWrite(access, s.keys).expectRevision(s.keys.model('m'), '0').put(s.keys.model('m'), modelRecord('m')).audit(entry('m')).commit();
  t.deepEqual(outcome, { status: 'conflict', changed: [] });
  t.is(sends, 1);
  t.is((await s.access.get(s.keys.model('m'))).kv, undefined);
});

test('a write of placements only needs no audit entry but still compares; any other key in it needs one', async (t) => {
  const tb = tables();
  const { keys } = tb;
  const placement = { model: 'm', version: 'v1', copies: [{ nodeId: 'n1', since: at }], wantedCopies: 1, estimatedBytes: 10, reason: '', updatedAt: at };
  const key = keys.placement('m', 'v1');
  t.deepEqual((await tb.write().expectRevision(key, '0').put(key, placement).commit()).status, 'written');
  t.is(await tb.access.count(keys.historyPrefix('m')), 0);
  const again = await tb.write().expectRevision(key, '0').put(key, placement).commit();
  t.is(again.status, 'conflict');
  if (again.status === 'conflict') t.deepEqual(again.changed.map((c) => c.key), [key]);
  const mixed = await tb.write().expectRevision(keys.route('m'), '0').put(key, placement).put(keys.model('m'), modelRecord('m')).commit();
  t.like(mixed, { status: 'refused', error: 'a write of target/ must carry its audit entry' });
  const bad = await tb.write().expectRevision(key, '0').put(key, { ...placement, version: 'v2' }).commit();
  t.like(bad, { status: 'refused', key });
  t.is(await tb.access.count(keys.modelsPrefix()), 0);
});
