import test from 'ava';
import { KeyLayout } from '@switchyard/core';
import { createEtcdClient } from '@switchyard/core/etcd';
import { silentLogger } from '@switchyard/core/logging';
import { startEtcd, waitFor, type EtcdProcess } from '@switchyard/testkit';
import { EtcdLeaderElection } from '../src/index.js';

let etcdProcess: EtcdProcess;
test.before(async () => {
  etcdProcess = await startEtcd();
});
test.after.always(async () => {
  await etcdProcess?.destroy();
});

test('of three candidates exactly one leads; when it resigns another takes over without waiting for the TTL', async (t) => {
  const etcd = createEtcdClient({ endpoints: etcdProcess.endpoint });
  t.teardown(() => etcd.close());
  const keys = new KeyLayout('/election-test/');
  const candidates = ['a', 'b', 'c'].map(
    (id) => new EtcdLeaderElection({ etcd, keys, name: 'work', candidateId: id, ttlSeconds: 30, retryMs: 100, logger: silentLogger() }),
  );
  const changes: string[] = [];
  candidates.forEach((c, i) => c.onChange((leader) => changes.push(`${'abc'[i]}:${leader}`)));
  t.teardown(() => Promise.all(candidates.map((c) => c.stop())));
  for (const c of candidates) c.start();

  await waitFor(() => candidates.some((c) => c.isLeader), { timeoutMs: 10_000, message: 'a leader' });
  t.is(candidates.filter((c) => c.isLeader).length, 1);
  const first = candidates.findIndex((c) => c.isLeader);

  // Resigning (not waiting out the 30 s TTL) hands over promptly.
  await candidates[first]!.stop();
  await waitFor(() => candidates.some((c) => c.isLeader), { timeoutMs: 10_000, message: 'a new leader' });
  t.is(candidates.filter((c) => c.isLeader).length, 1);
  t.false(candidates[first]!.isLeader);
  t.true(changes.includes(`${'abc'[first]}:false`));
  // Who leads is readable with etcdctl under the documented key.
  const leader = candidates.findIndex((c) => c.isLeader);
  t.is(await etcd.get('/election-test/runtime/election/work').string(), 'abc'[leader] ?? null);
});

test('a leader cut off etcd steps down when its lease is lost, and a follower takes over', async (t) => {
  const cut = await startEtcd();
  t.teardown(() => cut.destroy());
  const keys = new KeyLayout('/election-test-2/');
  const a = createEtcdClient({ endpoints: cut.endpoint, callTimeoutMs: 500 });
  const b = createEtcdClient({ endpoints: cut.endpoint, callTimeoutMs: 500 });
  t.teardown(() => {
    a.close();
    b.close();
  });
  const first = new EtcdLeaderElection({ etcd: a, keys, name: 'work', candidateId: 'a', ttlSeconds: 2, retryMs: 100, logger: silentLogger() });
  t.teardown(() => first.stop(500));
  first.start();
  await waitFor(() => first.isLeader, { timeoutMs: 10_000, message: 'a to lead' });

  // etcd goes away: the leader cannot confirm its key and steps down rather than act blind.
  await cut.stop();
  await waitFor(() => !first.isLeader, { timeoutMs: 10_000, message: 'a to step down' });
  // Stopping while etcd is unreachable stays bounded, and leaves nothing that keeps the process alive.
  await first.stop(500);

  await cut.start();
  const second = new EtcdLeaderElection({ etcd: b, keys, name: 'work', candidateId: 'b', ttlSeconds: 2, retryMs: 100, logger: silentLogger() });
  t.teardown(() => second.stop(500));
  second.start();
  await waitFor(() => second.isLeader, { timeoutMs: 15_000, message: 'b to lead once the old lease expired' });
  t.is(await b.get('/election-test-2/runtime/election/work').string(), 'b');
});
