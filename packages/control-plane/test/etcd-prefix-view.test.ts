import anyTest, { type TestFn } from 'ava';
import type { NodeRecord } from '@switchyard/core';
import { createEtcdClient } from '@switchyard/core/etcd';
import { capturingLogger, TcpProxy, waitFor } from '@switchyard/testkit';
import { EtcdTables } from '../src/etcd-tables.js';
import { freshKeys, useEtcd } from './helpers/harness.js';

// The control plane's watch-fed view of a prefix against a real etcd: a read, a watch from its revision, a new read after compaction.
const test = anyTest as TestFn;
const etcd = useEtcd(test);
const at = '2026-01-01T00:00:00.000Z';

const nodeRecord = (id: string, draining = false): NodeRecord => ({
  id,
  address: '127.0.0.1:1',
  metricsAddress: '',
  buildVersion: 'test',
  startedAt: at,
  memoryBudgetBytes: 1,
  draining,
  httpAddress: '',
});

const ids = (values: readonly NodeRecord[]): string[] => values.map((n) => `${n.id}${n.draining ? '(draining)' : ''}`).sort();

test.serial('one read, then the watch brings each put and delete; a closed view holds nothing', async (t) => {
  const { client } = etcd();
  const keys = freshKeys();
  await client.put(keys.node('a')).value(JSON.stringify(nodeRecord('a')));
  await client.put(keys.node('bad')).value('{not json');
  const { logger } = capturingLogger();
  const tables = new EtcdTables({ etcd: client, keys, logger });
  const seen: string[] = [];
  const view = tables.view(keys.nodesPrefix(), 'node', { onChange: (before, after) => seen.push(`${before?.id ?? '-'}>${after?.id ?? '-'}`) });
  view.open();
  await view.ready();
  t.deepEqual(ids(view.values()), ['a'], 'the invalid record is skipped');
  t.deepEqual(seen, [], 'the read calls no onChange');

  await client.put(keys.node('b')).value(JSON.stringify(nodeRecord('b')));
  await client.put(keys.node('a')).value(JSON.stringify(nodeRecord('a', true)));
  await client.delete().key(keys.node('b')).exec();
  await waitFor(() => view.changes === 3, { message: 'three watch events' });
  t.deepEqual(ids(view.values()), ['a(draining)']);
  t.deepEqual(seen, ['->b', 'a>a', 'b>-']);

  view.close();
  t.deepEqual(view.values(), []);
  t.false(view.isOpen);
  await t.throwsAsync(view.ready(), { message: /not open/ });
});

test.serial('a watch whose revision was compacted while etcd was out of reach is replaced by a new read', async (t) => {
  const { client, process } = etcd();
  const keys = freshKeys();
  const proxy = await TcpProxy.start(process.clientPort);
  const viewClient = createEtcdClient({ endpoints: proxy.endpoint });
  t.teardown(async () => {
    viewClient.close();
    await proxy.close();
  });
  await client.put(keys.node('a')).value(JSON.stringify(nodeRecord('a')));
  const { logger, records } = capturingLogger();
  const view = new EtcdTables({ etcd: viewClient, keys, logger }).view(keys.nodesPrefix(), 'node', {});
  view.open();
  await view.ready();
  t.deepEqual(ids(view.values()), ['a']);

  proxy.pause();
  await client.put(keys.node('b')).value(JSON.stringify(nodeRecord('b')));
  await client.delete().key(keys.node('a')).exec();
  const { header } = await client.put(keys.node('c')).value(JSON.stringify(nodeRecord('c'))).exec();
  await client.kv.compact({ revision: header.revision, physical: true });
  proxy.resume();

  await waitFor(() => ids(view.values()).join() === 'b,c', { message: 'the view read the prefix again', timeoutMs: 15_000 });
  t.true(records.some((r) => /view watch ended/.test(String(r.message))), 'the ended watch is logged');
  // And it watches again from the new read.
  await client.put(keys.node('d')).value(JSON.stringify(nodeRecord('d')));
  await waitFor(() => ids(view.values()).join() === 'b,c,d', { message: 'the new watch works' });
  view.close();
});
