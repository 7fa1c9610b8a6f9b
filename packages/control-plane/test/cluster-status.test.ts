import anyTest, { type TestFn } from 'ava';
import type { ClusterStatusMessage, WhoAmIResponse } from '@switchyard/core';
import { unary, startControlPlane, useEtcd } from './helpers/harness.js';

const test = anyTest as TestFn;
const etcd = useEtcd(test);

const now = '2024-05-01T12:00:00.000Z';

function nodeRecord(id: string, address: string): string {
  return JSON.stringify({ id, address, metricsAddress: `${address}9`, buildVersion: '1.2.3', startedAt: now });
}

function statusRecord(nodeId: string, model: string, version: string, state: string): string {
  return JSON.stringify({ nodeId, model, version, state, error: '', attempts: 1, updatedAt: now, loadMs: 3 });
}

test('GetClusterStatus lists every live node with its version states across models, and the control planes', async (t) => {
  const { admin, keys, cp, logs } = await startControlPlane(t, etcd().client, { id: 'cp-one' });
  const client = etcd().client;
  await client.put(keys.node('node-b')).value(nodeRecord('node-b', '10.0.0.2:8001'));
  await client.put(keys.node('node-a')).value(nodeRecord('node-a', '10.0.0.1:8001'));
  await client.put(keys.node('node-bad')).value('{"id":"node-bad"}');
  await client.put(keys.status('node-a', 'zebra', 'v1')).value(statusRecord('node-a', 'zebra', 'v1', 'READY'));
  await client.put(keys.status('node-a', 'alpha', 'v10')).value(statusRecord('node-a', 'alpha', 'v10', 'LOADING'));
  await client.put(keys.status('node-a', 'alpha', 'v2')).value(statusRecord('node-a', 'alpha', 'v2', 'READY'));
  await client.put(keys.status('node-b', 'alpha', 'v2')).value(statusRecord('node-b', 'alpha', 'v2', 'FAILED'));
  // A node whose lease expired: its statuses are not reported.
  await client.put(keys.status('node-gone', 'alpha', 'v2')).value(statusRecord('node-gone', 'alpha', 'v2', 'READY'));
  await client.put(keys.controlPlane('cp-two')).value(JSON.stringify({ id: 'cp-two', address: '10.0.0.9:7070', startedAt: now }));

  const status = await unary<ClusterStatusMessage>(admin, 'GetClusterStatus', {});
  t.deepEqual(
    status.nodes.map((n) => [n.node.node_id, n.node.address, n.node.metrics_address, n.node.build_version, n.node.started_at]),
    [
      ['node-a', '10.0.0.1:8001', '10.0.0.1:80019', '1.2.3', now],
      ['node-b', '10.0.0.2:8001', '10.0.0.2:80019', '1.2.3', now],
    ],
  );
  t.deepEqual(
    status.nodes.map((n) => n.versions.map((v) => [v.model, v.state.version, v.state.state, v.state.load_ms])),
    [
      [
        ['alpha', 'v2', 'READY', 3],
        ['alpha', 'v10', 'LOADING', 3],
        ['zebra', 'v1', 'READY', 3],
      ],
      [['alpha', 'v2', 'FAILED', 3]],
    ],
  );
  t.deepEqual(
    status.control_planes.map((c) => c.id),
    ['cp-one', 'cp-two'],
  );
  t.is(status.control_planes[0]?.address, cp.advertiseAddress);
  t.true(logs.some((r) => r['level'] === 'warn' && r['key'] === keys.node('node-bad')));
});

test('GetClusterStatus of an empty cluster reports only the control plane', async (t) => {
  const { admin, cp } = await startControlPlane(t, etcd().client);
  const status = await unary<ClusterStatusMessage>(admin, 'GetClusterStatus', {});
  t.deepEqual(status.nodes, []);
  t.deepEqual(status.control_planes.map((c) => c.id), [cp.id]);
});

test('WhoAmI without auth is the anonymous admin', async (t) => {
  const { admin } = await startControlPlane(t, etcd().client);
  t.deepEqual(await unary<WhoAmIResponse>(admin, 'WhoAmI', {}), { name: 'anonymous', role: 'admin', auth_enabled: false });
});
