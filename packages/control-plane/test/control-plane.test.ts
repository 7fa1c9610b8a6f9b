import anyTest, { type TestFn } from 'ava';
import * as grpc from '@grpc/grpc-js';
import { ControlPlaneRecordSchema, parseStored } from '@switchyard/core';
import { makeTempDir, removeDir, waitFor } from '@switchyard/testkit';
import { ControlPlane } from '../src/index.js';
import { capturingLogger, freshKeys, startControlPlane, useEtcd } from './helpers/harness.js';

const test = anyTest as TestFn;
const etcd = useEtcd(test);

function healthCheck(address: string, service = ''): Promise<string> {
  const Health = grpc.makeGenericClientConstructor(
    {
      Check: {
        path: '/grpc.health.v1.Health/Check',
        requestStream: false,
        responseStream: false,
        // HealthCheckRequest { string service = 1; } / HealthCheckResponse { ServingStatus status = 1; }
        requestSerialize: (r: { service: string }) => {
          const name = Buffer.from(r.service);
          return name.length === 0 ? Buffer.alloc(0) : Buffer.concat([Buffer.from([0x0a, name.length]), name]);
        },
        requestDeserialize: (b: Buffer) => b,
        responseSerialize: (r: Buffer) => r,
        responseDeserialize: (b: Buffer) => b,
      },
    },
    'Health',
  );
  const client = new Health(address, grpc.credentials.createInsecure());
  return new Promise((resolve, reject) => {
    (client as unknown as { Check: (r: object, cb: (e: Error | null, r: Buffer) => void) => void }).Check({ service }, (err, res) => {
      client.close();
      if (err) return reject(err);
      // Field 1, varint: 1 = SERVING, 2 = NOT_SERVING.
      resolve(res[1] === 1 ? 'SERVING' : `status ${res[1] ?? 'UNKNOWN'}`);
    });
  });
}

test('the control plane registers {id, address, startedAt} under a lease and removes it on stop', async (t) => {
  const keys = freshKeys();
  const dataDir = await makeTempDir('switchyard-cp-test-');
  t.teardown(() => removeDir(dataDir));
  const cp = await ControlPlane.create({ etcd: etcd().client, keys, dataDir, id: 'cp-1', logger: capturingLogger().logger, auth: { disabled: true } });
  t.regex(cp.address, /^127\.0\.0\.1:\d+$/);
  t.not(cp.address, '127.0.0.1:0');
  t.is(cp.id, 'cp-1');
  t.is(cp.state, 'RUNNING');
  t.true(cp.registered);

  const kv = (await etcd().client.get(keys.controlPlane('cp-1')).exec()).kvs[0];
  t.truthy(kv);
  t.not(kv?.lease, '0', 'the key is bound to a lease');
  const record = parseStored(ControlPlaneRecordSchema, kv?.value.toString() ?? '');
  t.true(record.ok);
  if (record.ok) t.like(record.value, { id: 'cp-1', address: cp.address });

  t.is(await healthCheck(cp.address), 'SERVING');
  t.is(await healthCheck(cp.address, 'switchyard.admin.v1.ModelAdmin'), 'SERVING');

  await cp.stop();
  await cp.stop();
  t.is(cp.state, 'STOPPED');
  t.is(await etcd().client.get(keys.controlPlane('cp-1')).string(), null);
});

test('a lost lease is replaced and the registration written again', async (t) => {
  const { cp, keys, logs } = await startControlPlane(t, etcd().client, { id: 'cp-lost', leaseTtlSeconds: 2 });
  const key = keys.controlPlane('cp-lost');
  const before = (await etcd().client.get(key).exec()).kvs[0]?.lease;
  t.truthy(before);
  await etcd().client.leaseClient.leaseRevoke({ ID: before! });
  // The key can show up in etcd a moment before the put's response reaches the control plane.
  await waitFor(async () => {
    const lease = (await etcd().client.get(key).exec()).kvs[0]?.lease;
    return cp.registered && lease !== undefined && lease !== before;
  }, { timeoutMs: 15_000, message: 'the registration to come back under a new lease' });
  t.true(logs.some((r) => r['level'] === 'warn' && String(r['message']).includes('lost the etcd lease')));
});

test('options are checked up front', async (t) => {
  const base = { etcd: etcd().client, dataDir: '/tmp/unused', auth: { disabled: true } };
  await t.throwsAsync(ControlPlane.create({ ...base, id: 'Bad/Id' }), { instanceOf: TypeError, message: /id/ });
  await t.throwsAsync(ControlPlane.create({ ...base, maxArtifactBytes: -1 }), { instanceOf: TypeError, message: /maxArtifactBytes/ });
  await t.throwsAsync(ControlPlane.create({ ...base, listen: 'nowhere' }), { instanceOf: TypeError, message: /listen/ });
});

test('an address already in use fails start-up with UNAVAILABLE', async (t) => {
  const { cp } = await startControlPlane(t, etcd().client);
  const dataDir = await makeTempDir('switchyard-cp-test-');
  t.teardown(() => removeDir(dataDir));
  await t.throwsAsync(
    ControlPlane.create({ etcd: etcd().client, keys: freshKeys(), dataDir, listen: cp.address, logger: capturingLogger().logger, auth: { disabled: true } }),
    { message: /UNAVAILABLE: could not listen on/ },
  );
});
