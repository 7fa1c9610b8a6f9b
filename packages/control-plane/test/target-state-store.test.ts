import anyTest, { type TestFn } from 'ava';
import type { HistoryEntryRecord, ModelRecord, RouteRecord, VersionRecord } from '@switchyard/core';
import { TargetStateStore, historyEntry } from '../src/index.js';
import { capturingLogger, freshKeys, useEtcd } from './helpers/harness.js';

const test = anyTest as TestFn;
const etcd = useEtcd(test);

function newStore(): TargetStateStore {
  return new TargetStateStore({ etcd: etcd().client, keys: freshKeys(), logger: capturingLogger().logger });
}

const now = new Date().toISOString();

function versionRecord(version: string): VersionRecord {
  return {
    model: 'm',
    version,
    artifact: { sha256: 'a'.repeat(64), size: 1 },
    signature: { inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 1] }], outputs: [{ name: 'y', datatype: 'FP32', shape: [-1, 1] }] },
    createdAt: now,
    createdBy: '',
    description: '',
    labels: {},
    expiresAfterSeconds: 0,
    samples: null,
  };
}

/** An audit entry for a store write; its content does not matter to these tests. */
function h(action: string): HistoryEntryRecord {
  return historyEntry({ at: new Date().toISOString(), actor: 'test', action, model: 'm', before: null, after: null });
}

const newModel: ModelRecord = { name: 'm', owner: '', description: '', defaultExpiresAfterSeconds: 0, createdAt: now, updatedAt: now };

function routeRecord(version: string): RouteRecord {
  return { model: 'm', splits: [{ version, weight: 10_000 }], updatedAt: now, updatedBy: '', shadows: [], rollout: null };
}

async function storeWithVersions(): Promise<{ store: TargetStateStore; revisions: Map<string, string> }> {
  const store = newStore();
  const created = await store.createVersion(versionRecord('v1'), { create: newModel }, h('CreateVersion'));
  if (created.status !== 'created') throw new Error(created.status);
  const model = await store.getModel('m');
  await store.createVersion(versionRecord('v2'), { createRevision: model!.createRevision }, h('CreateVersion'));
  const revisions = new Map((await store.listVersions('m')).map((v) => [v.value.version, v.modRevision]));
  return { store, revisions };
}

test('two route writes conditional on the same revision: the transaction lets exactly one through', async (t) => {
  const { store, revisions } = await storeWithVersions();
  const only = (v: string): Map<string, string> => new Map([[v, revisions.get(v)!]]);
  const [a, b] = await Promise.all([store.putRoute(routeRecord('v1'), '0', only('v1'), h('SetRoute')), store.putRoute(routeRecord('v2'), '0', only('v2'), h('SetRoute'))]);
  t.deepEqual([a.status, b.status].sort(), ['route-changed', 'written']);

  const current = await store.readRoute('m');
  const [c, d] = await Promise.all([
    store.putRoute(routeRecord('v1'), current.revision, only('v1'), h('SetRoute')),
    store.putRoute(routeRecord('v2'), current.revision, only('v2'), h('SetRoute')),
  ]);
  t.deepEqual([c.status, d.status].sort(), ['route-changed', 'written']);
});

test('a route write fails when a referenced version was deleted after it was read', async (t) => {
  const { store, revisions } = await storeWithVersions();
  const route = await store.readRoute('m');
  t.true(await store.deleteVersion('m', 'v2', { versionRevision: (await store.versionRevision('m', 'v2'))!, routeRevision: route.revision }, h('DeleteVersion')));
  const outcome = await store.putRoute(routeRecord('v2'), route.revision, new Map([['v2', revisions.get('v2')!]]), h('SetRoute'));
  t.deepEqual(outcome, { status: 'version-gone', version: 'v2' });
});

test('a route write fails when a referenced version was rewritten (e.g. retired) after it was read, though its route key did not change', async (t) => {
  const { store, revisions } = await storeWithVersions();
  const route = await store.readRoute('m');
  const retired = { ...versionRecord('v2'), retirement: { state: 'RETIRED', retiredAt: now } };
  await etcd().client.put(store.keys.version('m', 'v2')).value(JSON.stringify(retired));
  const outcome = await store.putRoute(routeRecord('v2'), route.revision, new Map([['v2', revisions.get('v2')!]]), h('SetRoute'));
  t.deepEqual(outcome, { status: 'version-changed', version: 'v2' });
  t.is((await store.readRoute('m')).revision, route.revision, 'nothing written');
});

test('a version delete fails when the route changed after it was read', async (t) => {
  const { store, revisions } = await storeWithVersions();
  const before = await store.readRoute('m');
  const versionRevision = (await store.versionRevision('m', 'v2'))!;
  await store.putRoute(routeRecord('v2'), before.revision, new Map([['v2', revisions.get('v2')!]]), h('SetRoute'));
  t.false(await store.deleteVersion('m', 'v2', { versionRevision, routeRevision: before.revision }, h('DeleteVersion')));
  t.truthy(await store.getVersion('m', 'v2'));
});

test('creating a version that exists, or under a model that changed, reports why', async (t) => {
  const { store } = await storeWithVersions();
  const model = await store.getModel('m');
  t.deepEqual(await store.createVersion(versionRecord('v1'), { createRevision: model!.createRevision }, h('CreateVersion')), { status: 'version-exists' });
  t.deepEqual(await store.createVersion(versionRecord('v3'), { create: newModel }, h('CreateVersion')), {
    status: 'model-changed',
  });
  t.deepEqual(await store.listVersionNames('m'), ['v1', 'v2']);
});

test('a record stored under a key it does not name is skipped', async (t) => {
  const store = newStore();
  await etcd().client.put(store.keys.version('m', 'v5')).value(JSON.stringify(versionRecord('v1')));
  t.deepEqual(await store.listVersions('m'), []);
  await t.throwsAsync(store.getVersion('m', 'v5'), { message: /not its key/ });
});

test('a model delete fails when a version was written after the read, and covers any number of versions in one transaction', async (t) => {
  const { store } = await storeWithVersions();
  const tree = await store.readModelTree('m');
  t.deepEqual(tree.versionNames, ['v1', 'v2']);
  const model = await store.getModel('m');
  await store.createVersion(versionRecord('v3'), { createRevision: model!.createRevision }, h('CreateVersion'));
  const expected = { modelRevision: tree.model!.modRevision, routeRevision: tree.route.revision, readRevision: tree.revision };
  t.false(await store.deleteModel('m', expected, h('DeleteModel')));
  t.deepEqual(await store.listVersionNames('m'), ['v1', 'v2', 'v3']);

  // More version keys than etcd allows operations in one transaction (128).
  for (let i = 4; i < 200; i++) await etcd().client.put(store.keys.version('m', `v${i}`)).value(JSON.stringify(versionRecord(`v${i}`)));
  const again = await store.readModelTree('m');
  t.true(await store.deleteModel('m', { modelRevision: again.model!.modRevision, routeRevision: again.route.revision, readRevision: again.revision }, h('DeleteModel')));
  t.deepEqual(await store.listVersionNames('m'), []);
  t.is(await store.getModel('m'), undefined);
  const history = await store.readHistory('m', { limit: 1 });
  t.is(history.entries[0]?.record.action, 'DeleteModel');
  t.true(history.more);
});
