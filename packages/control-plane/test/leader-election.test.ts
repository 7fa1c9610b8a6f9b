import test from 'ava';
import { createEtcdClient, KeyLayout, silentLogger } from '@switchyard/core';
import { startEtcd, waitFor, type EtcdProcess } from '@switchyard/testkit';
import { EtcdLeaderElection } from '../src/index.js';

let etcdProcess: EtcdProcess;
test.before(async () => {
  etcdProcess = await startEtcd();
});
test.after.always(async () => {
  await etcdProcess?.destroy();
});

test('of three candidates exactly one leads; when it stops another takes over at once', async (t) => {
  const etcd = createEtcdClient({ endpoints: etcdProcess.endpoint });
  t.teardown(() => etcd.close());
  const keys = new KeyLayout('/election-test/');
  const candidates = ['a', 'b', 'c'].map(
    (id) => new EtcdLeaderElection({ etcd, keys, name: 'work', candidateId: id, ttlSeconds: 30, logger: silentLogger() }),
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
  // Candidates are readable with etcdctl under the documented prefix.
  const stored = await etcd.getAll().prefix(`${keys.electionNamespace()}election/work/`).strings();
  t.is(Object.keys(stored).length, 2);
});
