import anyTest, { type TestFn } from 'ava';
import { status } from '@grpc/grpc-js';
import { linearModel } from '@switchyard/testkit';
import type { ModelStatusMessage } from '@switchyard/core';
import { rejectsWithCode, startControlPlane, unary, upload, useEtcd } from './helpers/harness.js';

const test = anyTest as TestFn;
const etcd = useEtcd(test);

const now = '2024-05-01T12:00:00.000Z';

function nodeRecord(id: string): string {
  return JSON.stringify({ id, address: `10.0.0.${id.length}:8001`, metricsAddress: '', buildVersion: '1.2.3', startedAt: now });
}

function statusRecord(nodeId: string, model: string, version: string, state: string, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ nodeId, model, version, state, error: '', attempts: 1, updatedAt: now, ...extra });
}

test('GetModelStatus reports the route and, for each live node, its state of each version', async (t) => {
  const { admin, keys, logs } = await startControlPlane(t, etcd().client);
  const { sha256 } = await upload(admin, linearModel({ weights: [1], bias: 0 }));
  await unary(admin, 'CreateVersion', { model: 'm', artifact_sha256: sha256 });
  await unary(admin, 'CreateVersion', { model: 'm', artifact_sha256: sha256 });
  await unary(admin, 'SetRoute', { model: 'm', splits: [{ version: 'v1', weight: 10000 }] });

  const client = etcd().client;
  await client.put(keys.node('node-b')).value(nodeRecord('node-b'));
  await client.put(keys.node('node-a')).value(nodeRecord('node-a'));
  await client.put(keys.node('node-idle')).value(nodeRecord('node-idle'));
  await client.put(keys.node('node-bad')).value('{"id":"node-bad"}');
  await client.put(keys.status('node-a', 'm', 'v10')).value(statusRecord('node-a', 'm', 'v10', 'LOADING'));
  await client.put(keys.status('node-a', 'm', 'v2')).value(statusRecord('node-a', 'm', 'v2', 'FAILED', { error: 'out of memory' }));
  await client.put(keys.status('node-a', 'm', 'v1')).value(statusRecord('node-a', 'm', 'v1', 'READY', { loadMs: 12.5 }));
  await client.put(keys.status('node-b', 'm', 'v1')).value(statusRecord('node-b', 'm', 'v1', 'UNLOADING'));
  await client.put(keys.status('node-b', 'm', 'v2')).value('{"state":"SLEEPING"}');
  // Another model whose name starts the same, and a node whose lease is gone.
  await client.put(keys.status('node-a', 'm2', 'v1')).value(statusRecord('node-a', 'm2', 'v1', 'READY'));
  await client.put(keys.status('node-dead', 'm', 'v1')).value(statusRecord('node-dead', 'm', 'v1', 'READY'));

  const result = await unary<ModelStatusMessage>(admin, 'GetModelStatus', { model: 'm' });
  t.is(result.model, 'm');
  t.deepEqual(result.route?.splits, [{ version: 'v1', weight: 10000 }]);
  t.deepEqual(
    result.nodes.map((n) => n.node_id),
    ['node-a', 'node-b', 'node-idle'],
  );
  const [a, b, idle] = result.nodes;
  t.is(a?.address, '10.0.0.6:8001');
  t.is(a?.build_version, '1.2.3');
  t.deepEqual(
    a?.versions.map((v) => [v.version, v.state, v.error, v.load_ms, v.updated_at]),
    [
      ['v1', 'READY', '', 12.5, now],
      ['v2', 'FAILED', 'out of memory', 0, now],
      ['v10', 'LOADING', '', 0, now],
    ],
  );
  t.deepEqual(b?.versions.map((v) => [v.version, v.state]), [['v1', 'UNLOADING']]);
  t.deepEqual(idle?.versions, []);
  t.true(logs.some((r) => r['level'] === 'warn' && r['key'] === keys.node('node-bad')), 'the invalid node record is logged');
  t.true(logs.some((r) => r['level'] === 'warn' && r['key'] === keys.status('node-b', 'm', 'v2')), 'the invalid status is logged');
});

test('GetModelStatus of a model without a route reports no route', async (t) => {
  const { admin, keys } = await startControlPlane(t, etcd().client);
  await etcd().client.put(keys.node('n1')).value(nodeRecord('n1'));
  await etcd().client.put(keys.status('n1', 'loose', 'v1')).value(statusRecord('n1', 'loose', 'v1', 'READY'));
  const result = await unary<ModelStatusMessage>(admin, 'GetModelStatus', { model: 'loose' });
  t.is(result.route, null);
  t.deepEqual(result.nodes.map((n) => n.versions.map((v) => v.version)), [['v1']]);
});

test('GetModelStatus of an unknown model is NOT_FOUND', async (t) => {
  const { admin } = await startControlPlane(t, etcd().client);
  await rejectsWithCode(t, unary(admin, 'GetModelStatus', { model: 'ghost' }), status.NOT_FOUND, /ghost/);
  await rejectsWithCode(t, unary(admin, 'GetModelStatus', { model: 'No Such' }), status.INVALID_ARGUMENT);
});
