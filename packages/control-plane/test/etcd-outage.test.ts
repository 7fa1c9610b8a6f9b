import anyTest, { type TestFn } from 'ava';
import { status } from '@grpc/grpc-js';
import { createEtcdClient } from '@switchyard/core/etcd';
import { makeTempDir, removeDir, startEtcd, waitFor, type EtcdProcess } from '@switchyard/testkit';
import { ControlPlane } from '../src/index.js';
import { capturingLogger, freshKeys, rejectsWithCode, startControlPlane, unary } from './helpers/harness.js';

// This file stops and restarts its etcd, so its tests run one after another.
const test = (anyTest as TestFn).serial;

let etcdProcess: EtcdProcess;
test.before(async () => {
  etcdProcess = await startEtcd();
});
test.after.always(async () => {
  await etcdProcess?.destroy();
});

function quickClient(): ReturnType<typeof createEtcdClient> {
  return createEtcdClient({ endpoints: etcdProcess.endpoint, callTimeoutMs: 1000 });
}

test('an etcd outage makes admin calls UNAVAILABLE, and the registration comes back with etcd', async (t) => {
  const etcd = quickClient();
  t.teardown(() => etcd.close());
  const { cp, admin, keys } = await startControlPlane(t, etcd, { id: 'cp-outage', leaseTtlSeconds: 1 });
  const key = keys.controlPlane('cp-outage');
  t.true(cp.registered);

  await etcdProcess.stop();
  await rejectsWithCode(t, unary(admin, 'ListVersions', { model: 'm' }), status.UNAVAILABLE, /etcd is unreachable/);
  await waitFor(() => !cp.registered, { timeoutMs: 10_000, message: 'the lease to be declared lost' });

  await etcdProcess.start();
  await waitFor(async () => cp.registered && (await etcd.get(key).string()) !== null, {
    timeoutMs: 20_000,
    message: 'the control plane to register again',
  });
  const list = await unary<{ versions: unknown[] }>(admin, 'ListVersions', { model: 'm' });
  t.deepEqual(list.versions, []);
});

test('start-up with etcd down succeeds, registers once etcd is up, and stop() stays bounded', async (t) => {
  const etcd = quickClient();
  t.teardown(() => etcd.close());
  const dataDir = await makeTempDir('switchyard-cp-test-');
  t.teardown(() => removeDir(dataDir));
  const keys = freshKeys();

  await etcdProcess.stop();
  const cp = await ControlPlane.create({ etcd, keys, dataDir, id: 'cp-late', leaseTtlSeconds: 1, logger: capturingLogger().logger, auth: { disabled: true } });
  t.teardown(() => cp.stop());
  t.false(cp.registered);

  await etcdProcess.start();
  await waitFor(async () => (await etcd.get(keys.controlPlane('cp-late')).string()) !== null, {
    timeoutMs: 20_000,
    message: 'the control plane to register once etcd is up',
  });

  await etcdProcess.stop();
  const started = Date.now();
  await cp.stop();
  t.true(Date.now() - started < 5_000, `stop() took ${Date.now() - started} ms with etcd down`);
  await etcdProcess.start();
});
