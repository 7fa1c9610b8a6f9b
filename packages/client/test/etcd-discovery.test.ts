// EtcdDiscovery against a real etcd: node records put and deleted by the test.
import test from 'ava';
import { Etcd3 } from 'etcd3';
import { KeyLayout } from '@switchyard/core';
import { startEtcd } from '@switchyard/testkit';
import { EtcdDiscovery } from '../src/node-discovery.js';

const record = (id: string, port: number, draining = false) =>
  JSON.stringify({ id, address: `127.0.0.1:${port}`, metricsAddress: '', buildVersion: 'test', startedAt: new Date().toISOString(), memoryBudgetBytes: 0, draining, httpAddress: '' });

test('etcd discovery lists registered nodes, leaves out one that starts draining, and drops one whose record goes', async (t) => {
  const etcd = await startEtcd();
  t.teardown(() => etcd.destroy());
  const client = new Etcd3({ hosts: etcd.endpoint });
  t.teardown(() => client.close());
  const keys = new KeyLayout();
  await client.put(keys.node('n1')).value(record('n1', 7001));
  await client.put(keys.node('n2')).value(record('n2', 7002));
  const reports: string[][] = [];
  let changed: (() => void) | undefined;
  const discovery = new EtcdDiscovery({ etcd: client, keys });
  t.teardown(() => discovery.close());
  await discovery.start((addresses) => {
    reports.push(addresses);
    changed?.();
  });
  const next = (): Promise<string[]> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no report within 10 s')), 10_000);
      changed = () => {
        clearTimeout(timer);
        changed = undefined;
        resolve(reports.at(-1)!);
      };
    });
  t.deepEqual(reports.at(-1), ['127.0.0.1:7001', '127.0.0.1:7002']);
  let report = next();
  await client.put(keys.node('n1')).value(record('n1', 7001, true));
  t.deepEqual(await report, ['127.0.0.1:7002'], 'n1 is draining');
  report = next();
  await client.delete().key(keys.node('n1'));
  t.deepEqual(await report, ['127.0.0.1:7002']);
  report = next();
  await client.put(keys.node('n3')).value(record('n3', 7003));
  t.deepEqual(await report, ['127.0.0.1:7002', '127.0.0.1:7003']);
});
