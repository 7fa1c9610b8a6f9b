import anyTest, { type TestFn } from 'ava';
import { RouteRecordSchema, type ShadowListMessage } from '@switchyard/core';
import { waitFor } from '@switchyard/testkit';
import { resolveControlPlaneOptions } from '../src/control-plane-options.js';
import { freshKeys, startControlPlane, unary, useEtcd } from './helpers/harness.js';
import { ManualClock, seedModel, versionRecord } from './helpers/seed.js';

// ControlPlaneOptions.shadowKeeperIntervalMs (--shadow-keeper-interval): checked, and handed to the keeper.
const test = anyTest as TestFn;
const etcd = useEtcd(test);
const T0 = Date.parse('2026-01-01T00:00:00.000Z');

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
  await seedModel(client, keys, { model: 'm', routed: 'v1', versions: ['v1', 'v2'].map((v) => versionRecord('m', v, { createdAt: at })), at });
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
  // Logged once the keeper's write returns, which can be after a reader already sees the route.
  await waitFor(() => logs.some((r) => r['message'] === 'shadow ended' && r['version'] === 'v2'), { message: "the keeper logged 'shadow ended'" });
});
