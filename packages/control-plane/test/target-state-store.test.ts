import anyTest, { type TestFn } from 'ava';
import type { RouteRecord, VersionRecord } from '@switchyard/core';
import { TargetStateStore } from '../src/index.js';
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

function routeRecord(version: string): RouteRecord {
  return { model: 'm', splits: [{ version, weight: 10_000 }], updatedAt: now, updatedBy: '', shadows: [], rollout: null };
}

async function storeWithVersions(): Promise<{ store: TargetStateStore; revisions: Map<string, string> }> {
  const store = newStore();
  const created = await store.createVersion(versionRecord('v1'), { create: { name: 'm', owner: '', description: '', defaultExpiresAfterSeconds: 0, createdAt: now, updatedAt: now } });
  if (created.status !== 'created') throw new Error(created.status);
  const model = await store.getModel('m');
  await store.createVersion(versionRecord('v2'), { createRevision: model!.createRevision });
  const revisions = new Map((await store.listVersions('m')).map((v) => [v.value.version, v.createRevision]));
  return { store, revisions };
}

test('two route writes conditional on the same revision: the transaction lets exactly one through', async (t) => {
  const { store, revisions } = await storeWithVersions();
  const only = (v: string): Map<string, string> => new Map([[v, revisions.get(v)!]]);
  const [a, b] = await Promise.all([store.putRoute(routeRecord('v1'), '0', only('v1')), store.putRoute(routeRecord('v2'), '0', only('v2'))]);
  t.deepEqual([a.status, b.status].sort(), ['route-changed', 'written']);

  const current = await store.readRoute('m');
  const [c, d] = await Promise.all([
    store.putRoute(routeRecord('v1'), current.revision, only('v1')),
    store.putRoute(routeRecord('v2'), current.revision, only('v2')),
  ]);
  t.deepEqual([c.status, d.status].sort(), ['route-changed', 'written']);
});

test('a route write fails when a referenced version was deleted after it was read', async (t) => {
  const { store, revisions } = await storeWithVersions();
  const route = await store.readRoute('m');
  t.true(await store.deleteVersion('m', 'v2', { versionRevision: (await store.versionRevision('m', 'v2'))!, routeRevision: route.revision }));
  const outcome = await store.putRoute(routeRecord('v2'), route.revision, new Map([['v2', revisions.get('v2')!]]));
  t.deepEqual(outcome, { status: 'version-gone', version: 'v2' });
});

test('a version delete fails when the route changed after it was read', async (t) => {
  const { store, revisions } = await storeWithVersions();
  const before = await store.readRoute('m');
  const versionRevision = (await store.versionRevision('m', 'v2'))!;
  await store.putRoute(routeRecord('v2'), before.revision, new Map([['v2', revisions.get('v2')!]]));
  t.false(await store.deleteVersion('m', 'v2', { versionRevision, routeRevision: before.revision }));
  t.truthy(await store.getVersion('m', 'v2'));
});

test('creating a version that exists, or under a model that changed, reports why', async (t) => {
  const { store } = await storeWithVersions();
  const model = await store.getModel('m');
  t.deepEqual(await store.createVersion(versionRecord('v1'), { createRevision: model!.createRevision }), { status: 'version-exists' });
  t.deepEqual(await store.createVersion(versionRecord('v3'), { create: { name: 'm', owner: '', description: '', defaultExpiresAfterSeconds: 0, createdAt: now, updatedAt: now } }), {
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
