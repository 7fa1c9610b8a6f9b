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
      // Key order (v10 before v2): the detail pages by status key.
      [
        ['alpha', 'v10', 'LOADING', 3],
        ['alpha', 'v2', 'READY', 3],
        ['zebra', 'v1', 'READY', 3],
      ],
      [['alpha', 'v2', 'FAILED', 3]],
    ],
  );
  t.deepEqual(
    status.nodes.map((n) => n.counts),
    [
      { total: 3, ready: 2, loading: 1, failed: 0, other: 0 },
      { total: 1, ready: 0, loading: 0, failed: 1, other: 0 },
    ],
  );
  t.is(status.next_page_token, '');
  t.deepEqual(
    status.control_planes.map((c) => c.id),
    ['cp-one', 'cp-two'],
  );
  t.is(status.control_planes[0]?.address, cp.advertiseAddress);
  t.true(logs.some((r) => r['level'] === 'warn' && r['key'] === keys.node('node-bad')));
});

test('GetClusterStatus pages the node × version detail; the first page counts every version, later pages carry only their share', async (t) => {
  const { admin, keys } = await startControlPlane(t, etcd().client);
  const client = etcd().client;
  await client.put(keys.node('node-a')).value(nodeRecord('node-a', '10.0.0.1:8001'));
  await client.put(keys.node('node-b')).value(nodeRecord('node-b', '10.0.0.2:8001'));
  const failed = (nodeId: string, model: string): string => JSON.stringify({ ...JSON.parse(statusRecord(nodeId, model, 'v1', 'FAILED')), error: `no ${model}` });
  for (let m = 0; m < 5; m++) {
    await client.put(keys.status('node-a', `m${m}`, 'v1')).value(statusRecord('node-a', `m${m}`, 'v1', 'READY'));
    await client.put(keys.status('node-b', `m${m}`, 'v1')).value(m === 4 ? failed('node-b', `m${m}`) : statusRecord('node-b', `m${m}`, 'v1', 'UNLOADING'));
  }
  // A gone node's statuses in the middle of the key range are skipped without ending the listing.
  await client.put(keys.status('node-ab', 'm0', 'v1')).value(statusRecord('node-ab', 'm0', 'v1', 'READY'));

  const summary = await unary<ClusterStatusMessage>(admin, 'GetClusterStatus', { summary_only: true });
  t.deepEqual(summary.nodes.map((n) => [n.node.node_id, n.versions.length, n.counts, n.errors.map((e) => e.state.error)]), [
    ['node-a', 0, { total: 5, ready: 5, loading: 0, failed: 0, other: 0 }, []],
    ['node-b', 0, { total: 5, ready: 0, loading: 0, failed: 1, other: 4 }, ['no m4']],
  ]);
  t.is(summary.next_page_token, '');

  const seen: string[] = [];
  let page = await unary<ClusterStatusMessage>(admin, 'GetClusterStatus', { page_size: 3 });
  t.is(page.nodes.length, 2, 'the first page has every live node');
  let pages = 1;
  for (;;) {
    for (const n of page.nodes) for (const v of n.versions) seen.push(`${n.node.node_id}/${v.model}/${v.state.version}`);
    if (page.next_page_token === '') break;
    page = await unary<ClusterStatusMessage>(admin, 'GetClusterStatus', { page_size: 3, page_token: page.next_page_token });
    pages++;
    t.true(page.nodes.every((n) => n.counts === null && n.versions.length > 0), 'later pages: only nodes with versions in them, no counts');
  }
  t.true(pages >= 4);
  t.deepEqual(seen, [...['a', 'b'].flatMap((n) => [0, 1, 2, 3, 4].map((m) => `node-${n}/m${m}/v1`))]);
  await t.throwsAsync(unary(admin, 'GetClusterStatus', { page_token: 'bm9wZQ' }), { message: /page_token 'bm9wZQ' is not a token GetClusterStatus returned/ });
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
