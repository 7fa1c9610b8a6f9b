import anyTest, { type TestFn } from 'ava';
import { KeyLayout } from '@switchyard/core';
import { createEtcdClient } from '@switchyard/core/etcd';
import { capturingLogger, makeTempDir, removeDir, waitFor } from '@switchyard/testkit';
import { PredictionNode } from '../src/prediction-node.js';
import { useRealEtcd } from './helpers/real-etcd.js';

const test = (anyTest as TestFn).serial;
const etcdProcess = useRealEtcd(test);

test('a node starts its parts in order and its drain stops every one of them in reverse, shadow mirror included; the lease goes with it', async (t) => {
  const etcd = createEtcdClient({ endpoints: etcdProcess().endpoint, callTimeoutMs: 2000 });
  t.teardown(() => etcd.close());
  const dataDir = await makeTempDir('switchyard-drain-');
  t.teardown(() => removeDir(dataDir));
  const keys = new KeyLayout('/drain-order/');
  const { logger, records } = capturingLogger();
  const node = await PredictionNode.create({ etcd, keys, dataDir, logger, id: 'n1', metricsListen: '127.0.0.1:0', drainGraceMs: 0 });
  await node.ready();
  t.is(node.state, 'SERVING');
  const started = records.filter((r) => r.message === 'node component started').map((r) => r['component']);
  t.deepEqual(started, [
    'metrics-server',
    'artifact-source',
    'sessions',
    'stats-publisher',
    'inference-server',
    'registration',
    'memory-record',
    'cluster-view',
    'forwarder',
    'artifact-cache-trimmer',
    'shadow-mirror',
    'target-state-watch',
    'health',
    'draining-flag',
  ]);
  // The record is written in the background: readiness does not wait for etcd writes.
  await waitFor(async () => (await etcd.get(keys.node('n1')).string()) !== null, { message: 'n1 registered' });

  await node.stop();
  t.is(node.state, 'STOPPED');
  const stopped = records.filter((r) => r.message === 'node component stopped').map((r) => r['component']);
  t.deepEqual(stopped, [...started].reverse());
  t.is(await etcd.get(keys.node('n1')).string(), null, 'deregistered');
  t.deepEqual((await etcd.leaseClient.leaseLeases()).leases, [], 'the lease is revoked');
  await t.throwsAsync(node.ready(), { message: /node n1 is STOPPED/ });
});

test('ready() rejects at once when the node is stopped before it is ready', async (t) => {
  const etcd = createEtcdClient({ endpoints: etcdProcess().endpoint, callTimeoutMs: 2000 });
  t.teardown(() => etcd.close());
  const dataDir = await makeTempDir('switchyard-drain-');
  t.teardown(() => removeDir(dataDir));
  const node = await PredictionNode.create({ etcd, keys: new KeyLayout('/drain-early/'), dataDir, logger: capturingLogger().logger, drainGraceMs: 0 });
  const ready = node.ready(60_000);
  const stopped = node.stop();
  await t.throwsAsync(ready, { message: /is DRAINING/ });
  await stopped;
});
