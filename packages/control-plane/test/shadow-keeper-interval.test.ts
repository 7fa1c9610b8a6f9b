import anyTest, { type TestFn } from 'ava';
import { RouteRecordSchema, type Clock, type ModelRecord, type RouteRecord, type ShadowListMessage, type VersionRecord } from '@switchyard/core';
import { waitFor } from '@switchyard/testkit';
import { resolveControlPlaneOptions } from '../src/control-plane-options.js';
import { freshKeys, startControlPlane, unary, useEtcd } from './helpers/harness.js';

// ControlPlaneOptions.shadowKeeperIntervalMs (--shadow-keeper-interval): checked, and handed to the keeper.
const test = anyTest as TestFn;
const etcd = useEtcd(test);
const T0 = Date.parse('2026-01-01T00:00:00.000Z');

class ManualClock implements Clock {
  constructor(public ms: number) {}
  now(): number {
    return this.ms;
  }
  // Real time: the election and the controllers pace themselves with it.
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, ms));
  }
}

test('shadowKeeperIntervalMs defaults to 5 s and must be a positive integer', (t) => {
  const base = { etcd: etcd().client, dataDir: '/unused', auth: { disabled: true } };
  t.is(resolveControlPlaneOptions(base).shadowKeeperIntervalMs, 5000);
  t.is(resolveControlPlaneOptions({ ...base, shadowKeeperIntervalMs: 250 }).shadowKeeperIntervalMs, 250);
  for (const bad of [0, -1, 1.5, Number.NaN]) {
    t.throws(() => resolveControlPlaneOptions({ ...base, shadowKeeperIntervalMs: bad }), { instanceOf: TypeError, message: /shadowKeeperIntervalMs must be a positive integer/ });
  }
});

test('the leader keeps shadows at the configured interval: an expired shadow is removed', async (t) => {
  const { client } = etcd();
  const keys = freshKeys();
  const at = new Date(T0).toISOString();
  const model: ModelRecord = { name: 'm', owner: '', description: '', defaultExpiresAfterSeconds: 0, createdAt: at, updatedAt: at };
  const route: RouteRecord = { model: 'm', splits: [{ version: 'v1', weight: 10_000 }], updatedAt: at, updatedBy: 'test', shadows: [], rollout: null };
  await client.put(keys.model('m')).value(JSON.stringify(model));
  await client.put(keys.route('m')).value(JSON.stringify(route));
  for (const name of ['v1', 'v2']) {
    const v: VersionRecord = {
      model: 'm',
      version: name,
      artifact: { sha256: 'a'.repeat(64), size: 1 },
      signature: { inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 1] }], outputs: [{ name: 'y', datatype: 'FP32', shape: [-1, 1] }] },
      createdAt: at,
      createdBy: 'test',
      description: '',
      labels: {},
      expiresAfterSeconds: 0,
      samples: null,
    };
    await client.put(keys.version('m', name)).value(JSON.stringify(v));
  }
  const clock = new ManualClock(T0);
  const { cp, admin, logs } = await startControlPlane(t, client, { keys, clock, shadowKeeperIntervalMs: 50 });
  t.truthy(
    logs.find((r) => String(r['message']).startsWith('shadow keeper started') && r['intervalMs'] === 50),
    'the keeper runs at the configured interval',
  );
  await waitFor(() => cp.isLeader, { message: 'the control plane leads' });

  const added = await unary<ShadowListMessage>(admin, 'AddShadow', { model: 'm', version: 'v2', fraction: 0.5, duration_seconds: 60 });
  t.deepEqual(added.shadows.map((s) => s.version), ['v2']);
  clock.ms = T0 + 61_000;
  const shadows = async () => RouteRecordSchema.parse(JSON.parse((await client.get(keys.route('m')).string())!)).shadows;
  await waitFor(async () => (await shadows()).length === 0, { message: 'the keeper removed the expired shadow' });
  t.true(logs.some((r) => r['message'] === 'shadow ended' && r['version'] === 'v2'));
});
