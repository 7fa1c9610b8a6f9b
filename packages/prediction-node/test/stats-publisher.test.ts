import anyTest, { type TestFn } from 'ava';
import { createEtcdClient } from '@switchyard/core/etcd';
import { createLogger } from '@switchyard/core/logging';
import { waitFor } from '@switchyard/testkit';
import { StatsPublisher, type PublishedEntry } from '../src/stats-publisher.js';
import { useRealEtcd } from './helpers/real-etcd.js';

// One file-wide etcd that one test stops and starts: serial.
const test = (anyTest as TestFn).serial;
const logger = createLogger({ component: 'test', silent: true });

const etcdProcess = useRealEtcd(test);

function client() {
  return createEtcdClient({ endpoints: etcdProcess().endpoint, callTimeoutMs: 1000 });
}

test('changed values are written in transactions of at most batchSize puts; unchanged ones are skipped', async (t) => {
  const etcd = client();
  t.teardown(() => etcd.close());
  let values = new Map<string, string | null>();
  const publisher = new StatsPublisher({ etcd, logger, intervalMs: 60_000, batchSize: 100 });
  publisher.add(() => [...values].map(([key, value]): PublishedEntry => ({ key, value })));

  for (let i = 0; i < 250; i++) values.set(`/t1/k${i}`, `v${i}`);
  await publisher.tick();
  t.is(publisher.writes, 250);
  t.is(publisher.transactions, 3);
  t.is((await etcd.getAll().prefix('/t1/').keys()).length, 250);

  await publisher.tick();
  t.is(publisher.writes, 250, 'nothing changed, nothing written');

  values = new Map([['/t1/k0', 'changed'], ['/t1/k1', null]]);
  await publisher.tick();
  t.is(publisher.writes, 252);
  t.is(await etcd.get('/t1/k0').string(), 'changed');
  t.is(await etcd.get('/t1/k1').string(), null);
});

test('figures collected while etcd is down are written when it returns, newest value first', async (t) => {
  const etcd = client();
  t.teardown(() => etcd.close());
  let counter = 0;
  const publisher = new StatsPublisher({ etcd, logger, intervalMs: 60_000 });
  publisher.add(() => [{ key: '/t2/count', value: String(counter) }]);

  await etcdProcess().stop();
  counter = 1;
  await publisher.tick();
  counter = 2;
  await publisher.tick();
  t.is(publisher.writes, 0);
  await etcdProcess().start();
  await waitFor(
    async () => {
      await publisher.tick();
      return (await etcd.get('/t2/count').string().catch(() => null)) === '2';
    },
    { timeoutMs: 20_000, message: 'the newest figure to reach etcd' },
  );
  t.pass();
});

test('close() publishes once more, so the last figures of a draining node are not lost', async (t) => {
  const etcd = client();
  t.teardown(() => etcd.close());
  let value = 'first';
  const publisher = new StatsPublisher({ etcd, logger, intervalMs: 60_000 });
  publisher.add(() => [{ key: '/t3/last', value }]);
  publisher.start();
  value = 'last';
  await publisher.close();
  t.is(await etcd.get('/t3/last').string(), 'last');
});

test('a failing source is logged and the others still publish', async (t) => {
  const etcd = client();
  t.teardown(() => etcd.close());
  const publisher = new StatsPublisher({ etcd, logger, intervalMs: 60_000 });
  publisher.add(() => {
    throw new Error('boom');
  });
  publisher.add(() => [{ key: '/t4/ok', value: 'yes' }]);
  await publisher.tick();
  t.is(await etcd.get('/t4/ok').string(), 'yes');
});
