import test from 'ava';
import { Etcd3 } from 'etcd3';
import { KeyLayout, type NodeRecord, type PlacementRecord, type RouteRecord, type VersionStatusRecord } from '@switchyard/core';
import { startEtcd, waitFor } from '@switchyard/testkit';
import { PlacementView } from '../src/placement-view.js';

const keys = new KeyLayout('/placement-view/');
const now = new Date().toISOString();
const node = (id: string, draining = false): NodeRecord => ({ id, address: `${id}:1`, metricsAddress: '', buildVersion: 'x', startedAt: now, memoryBudgetBytes: 1, draining, httpAddress: '' });
const status = (nodeId: string, state: VersionStatusRecord['state']): VersionStatusRecord => ({ nodeId, model: 'm', version: 'v1', state, error: '', attempts: 1, updatedAt: now });

test('the client sends a version to its READY holders (placed or loaded on request), then its placed nodes, and never to a draining node', async (t) => {
  const etcd = await startEtcd();
  t.teardown(() => etcd.destroy());
  const client = new Etcd3({ hosts: etcd.endpoint });
  t.teardown(() => client.close());
  const route: RouteRecord = { model: 'm', splits: [{ version: 'v1', weight: 10_000 }], shadows: [], updatedAt: now } as unknown as RouteRecord;
  await client.put(keys.route('m')).value(JSON.stringify(route));
  for (const id of ['a', 'b', 'c']) await client.put(keys.node(id)).value(JSON.stringify(node(id)));
  const placement: PlacementRecord = { model: 'm', version: 'v1', copies: [{ nodeId: 'a', since: now }], wantedCopies: 1, estimatedBytes: 0, reason: '', updatedAt: now };
  await client.put(keys.placement('m', 'v1')).value(JSON.stringify(placement));
  const view = new PlacementView({ etcd: client, keys, retryMs: 50 });
  t.teardown(() => view.close());
  await view.start();
  t.deepEqual(view.target('m', '', undefined, 0.5), { routedVersion: 'v1', addresses: ['a:1'] });
  // b loaded it on request: READY holders first, then the placed node still loading.
  await client.put(keys.status('b', 'm', 'v1')).value(JSON.stringify(status('b', 'READY')));
  await client.put(keys.status('c', 'm', 'v1')).value(JSON.stringify(status('c', 'LOADING')));
  await waitFor(() => view.target('m', 'v1', undefined).addresses.length === 2, { message: 'the READY copy seen' });
  t.deepEqual(view.target('m', 'v1', undefined).addresses, ['b:1', 'a:1']);
  // b drains: left out, and the placed node is all that is left.
  await client.put(keys.node('b')).value(JSON.stringify(node('b', true)));
  await waitFor(() => view.target('m', 'v1', undefined).addresses.length === 1, { message: 'the draining node left out' });
  t.deepEqual(view.target('m', 'v1', undefined).addresses, ['a:1']);
  await client.delete().key(keys.status('b', 'm', 'v1'));
  await client.put(keys.node('a')).value(JSON.stringify(node('a', true)));
  await waitFor(() => view.target('m', 'v1', undefined).addresses.length === 0, { message: 'no holder left: any node will do' });
});
