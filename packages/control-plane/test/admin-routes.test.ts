import anyTest, { type ExecutionContext, type TestFn } from 'ava';
import { status } from '@grpc/grpc-js';
import { linearModel } from '@switchyard/testkit';
import type { RouteMessage } from '@switchyard/core';
import { rejectsWithCode, startControlPlane, unary, upload, useEtcd, type TestControlPlane } from './helpers/harness.js';

const test = anyTest as TestFn;
const etcd = useEtcd(test);

/** A control plane with model `m` at versions v1..v`count`. */
async function withVersions(t: ExecutionContext, count: number): Promise<TestControlPlane> {
  const harness = await startControlPlane(t, etcd().client);
  const { sha256 } = await upload(harness.admin, linearModel({ weights: [2], bias: 1 }));
  for (let i = 0; i < count; i++) await unary(harness.admin, 'CreateVersion', { model: 'm', artifact_sha256: sha256 });
  return harness;
}

const split = (version: string, weight: number): { version: string; weight: number } => ({ version, weight });

test('SetRoute stores the split and GetRoute returns it with its revision', async (t) => {
  const { admin, keys } = await withVersions(t, 2);
  await rejectsWithCode(t, unary(admin, 'GetRoute', { model: 'm' }), status.NOT_FOUND, /SetRoute/);

  const set = await unary<RouteMessage>(admin, 'SetRoute', { model: 'm', splits: [split('v1', 9000), split('v2', 1000)] });
  t.deepEqual(set.splits, [split('v1', 9000), split('v2', 1000)]);
  const kv = (await etcd().client.get(keys.route('m')).exec()).kvs[0];
  t.is(String(set.revision), kv?.mod_revision ?? 'no route key');
  const stored = JSON.parse(kv?.value.toString() ?? '{}') as Record<string, unknown>;
  t.like(stored, { model: 'm', splits: [split('v1', 9000), split('v2', 1000)], shadows: [], rollout: null });

  const got = await unary<RouteMessage>(admin, 'GetRoute', { model: 'm' });
  t.deepEqual(got, set);
});

test('SetRoute stores slot ranges that move only the keys whose weight moved, across a sequence of routes', async (t) => {
  const { admin, keys } = await withVersions(t, 3);
  const storedSlots = async (): Promise<unknown> => {
    const kv = (await etcd().client.get(keys.route('m')).exec()).kvs[0];
    return (JSON.parse(kv?.value.toString() ?? '{}') as { slots?: unknown }).slots;
  };
  const range = (start: number, end: number, version: string) => ({ start, end, version });

  await unary(admin, 'SetRoute', { model: 'm', splits: [split('v1', 5000), split('v2', 3000), split('v3', 2000)] });
  t.deepEqual(await storedSlots(), [range(0, 5000, 'v1'), range(5000, 8000, 'v2'), range(8000, 10000, 'v3')]);
  // v1 → v2: the end of v1's range becomes v2's; v3 keeps everything.
  await unary(admin, 'SetRoute', { model: 'm', splits: [split('v1', 4000), split('v2', 4000), split('v3', 2000)] });
  t.deepEqual(await storedSlots(), [range(0, 4000, 'v1'), range(4000, 8000, 'v2'), range(8000, 10000, 'v3')]);
  // v1 → v3, not adjacent: v2's slots do not move.
  await unary(admin, 'SetRoute', { model: 'm', splits: [split('v1', 3000), split('v2', 4000), split('v3', 3000)] });
  t.deepEqual(await storedSlots(), [range(0, 3000, 'v1'), range(3000, 4000, 'v3'), range(4000, 8000, 'v2'), range(8000, 10000, 'v3')]);
  // v2 drops out; its slots go to v1 and v3 in split order.
  await unary(admin, 'SetRoute', { model: 'm', splits: [split('v1', 6000), split('v2', 0), split('v3', 4000)] });
  t.deepEqual(await storedSlots(), [range(0, 3000, 'v1'), range(3000, 4000, 'v3'), range(4000, 7000, 'v1'), range(7000, 10000, 'v3')]);
  await unary(admin, 'SetRoute', { model: 'm', splits: [] });
  t.deepEqual(await storedSlots(), []);
});

test('SetRoute over a route stored without slots starts from contiguous ranges of the stored splits', async (t) => {
  const { admin, keys } = await withVersions(t, 2);
  await unary(admin, 'SetRoute', { model: 'm', splits: [split('v1', 7000), split('v2', 3000)] });
  const key = keys.route('m');
  const old = JSON.parse((await etcd().client.get(key).string()) ?? '{}') as Record<string, unknown>;
  delete old['slots'];
  await etcd().client.put(key).value(JSON.stringify(old));
  await unary(admin, 'SetRoute', { model: 'm', splits: [split('v1', 6000), split('v2', 4000)] });
  const stored = JSON.parse((await etcd().client.get(key).string()) ?? '{}') as { slots?: unknown };
  t.deepEqual(stored.slots, [
    { start: 0, end: 6000, version: 'v1' },
    { start: 6000, end: 10000, version: 'v2' },
  ]);
});

test('SetRoute refuses weights that are not integer basis points adding up to 10000, and duplicates', async (t) => {
  const { admin } = await withVersions(t, 2);
  const bad = [
    [split('v1', 5000), split('v2', 4000)],
    [split('v1', 10001)],
    [split('v1', 5000), split('v1', 5000)],
    [split('v 1', 10000)],
  ];
  for (const splits of bad) {
    await rejectsWithCode(t, unary(admin, 'SetRoute', { model: 'm', splits }), status.INVALID_ARGUMENT);
  }
  const details = await rejectsWithCode(t, unary(admin, 'SetRoute', { model: 'm', splits: bad[0] }), status.INVALID_ARGUMENT);
  t.regex(details, /add up to 9000 .* 10000/);
  // A zero weight keeps a version in the route without traffic.
  await t.notThrowsAsync(unary(admin, 'SetRoute', { model: 'm', splits: [split('v1', 10000), split('v2', 0)] }));
});

test('SetRoute with no splits stores a route that serves nothing', async (t) => {
  const { admin } = await withVersions(t, 1);
  await unary(admin, 'SetRoute', { model: 'm', splits: [split('v1', 10000)] });
  const empty = await unary<RouteMessage>(admin, 'SetRoute', { model: 'm', splits: [] });
  t.deepEqual(empty.splits, []);
  t.deepEqual((await unary<RouteMessage>(admin, 'GetRoute', { model: 'm' })).splits, []);
});

test('SetRoute refuses a version that does not exist, naming it', async (t) => {
  const { admin } = await withVersions(t, 1);
  await rejectsWithCode(t, unary(admin, 'SetRoute', { model: 'm', splits: [split('v1', 5000), split('v7', 5000)] }), status.NOT_FOUND, /no version v7/);
  await rejectsWithCode(t, unary(admin, 'SetRoute', { model: 'nomodel', splits: [split('v1', 10000)] }), status.NOT_FOUND, /model nomodel has no version v1/);
});

test('SetRoute with an outdated expected_revision is ABORTED', async (t) => {
  const { admin } = await withVersions(t, 2);
  const first = await unary<RouteMessage>(admin, 'SetRoute', { model: 'm', splits: [split('v1', 10000)] });
  const second = await unary<RouteMessage>(admin, 'SetRoute', { model: 'm', splits: [split('v2', 10000)], expected_revision: first.revision });
  t.true(BigInt(second.revision) > BigInt(first.revision));
  await rejectsWithCode(
    t,
    unary(admin, 'SetRoute', { model: 'm', splits: [split('v1', 10000)], expected_revision: first.revision }),
    status.ABORTED,
    /route of model m changed while you were editing it; re-read it and retry/,
  );
  t.deepEqual((await unary<RouteMessage>(admin, 'GetRoute', { model: 'm' })).splits, [split('v2', 10000)]);
});

test('of two concurrent SetRoute calls with the same expected revision exactly one wins', async (t) => {
  const { admin } = await withVersions(t, 2);
  const base = await unary<RouteMessage>(admin, 'SetRoute', { model: 'm', splits: [split('v1', 10000)] });
  for (let round = 0; round < 5; round++) {
    const current = await unary<RouteMessage>(admin, 'GetRoute', { model: 'm' });
    const results = await Promise.allSettled([
      unary<RouteMessage>(admin, 'SetRoute', { model: 'm', splits: [split('v1', 3000), split('v2', 7000)], expected_revision: current.revision }),
      unary<RouteMessage>(admin, 'SetRoute', { model: 'm', splits: [split('v1', 7000), split('v2', 3000)], expected_revision: current.revision }),
    ]);
    const won = results.filter((r) => r.status === 'fulfilled');
    const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    t.is(won.length, 1);
    t.is(lost.length, 1);
    t.is((lost[0]?.reason as { code?: number }).code, status.ABORTED);
    const winner = (won[0] as PromiseFulfilledResult<RouteMessage>).value;
    t.deepEqual((await unary<RouteMessage>(admin, 'GetRoute', { model: 'm' })).splits, winner.splits);
  }
  t.truthy(base);
});

test('SetRoute keeps the shadows and rollout already stored', async (t) => {
  const { admin, keys } = await withVersions(t, 2);
  const record = {
    model: 'm',
    splits: [split('v1', 10000)],
    updatedAt: new Date().toISOString(),
    updatedBy: 'someone',
    shadows: [{ version: 'v2', fraction: 0.1, until: null, budget: null, tolerance: 1e-5, addedAt: new Date().toISOString(), addedBy: 'x', auto: false, future: { keep: true } }],
    rollout: {
      id: 'r1', from: 'v1', to: 'v2', steps: [10, 100], stepIndex: 0, stepStartedAt: null, minStepSeconds: 1, minStepRequests: 0, progressDeadlineSeconds: 0,
      gates: { maxErrorRate: 0.01, maxErrorRateRatio: 2, maxP99Ratio: 1.5, minShadowAgreement: null, minShadowRequests: 0 },
      state: 'SUCCEEDED', reason: '', lastFigures: null, startedAt: new Date().toISOString(), startedBy: 'x', updatedAt: new Date().toISOString(), future: 1,
    },
  };
  await etcd().client.put(keys.route('m')).value(JSON.stringify(record));
  await unary(admin, 'SetRoute', { model: 'm', splits: [split('v1', 5000), split('v2', 5000)] });
  const stored = JSON.parse((await etcd().client.get(keys.route('m')).string()) ?? '{}') as typeof record;
  t.deepEqual(stored.shadows, record.shadows);
  t.deepEqual(stored.rollout, record.rollout);
  t.deepEqual(stored.splits, [split('v1', 5000), split('v2', 5000)]);
});

test('DeleteVersion is refused while the route references the version, allowed after', async (t) => {
  const { admin, keys } = await withVersions(t, 2);
  await unary(admin, 'SetRoute', { model: 'm', splits: [split('v1', 8000), split('v2', 2000)] });
  await rejectsWithCode(t, unary(admin, 'DeleteVersion', { model: 'm', version: 'v2' }), status.FAILED_PRECONDITION, /route of model m .*SetRoute first/);

  await unary(admin, 'SetRoute', { model: 'm', splits: [split('v1', 10000)] });
  await unary(admin, 'DeleteVersion', { model: 'm', version: 'v2' });
  await rejectsWithCode(t, unary(admin, 'GetVersion', { model: 'm', version: 'v2' }), status.NOT_FOUND);
  await rejectsWithCode(t, unary(admin, 'DeleteVersion', { model: 'm', version: 'v2' }), status.NOT_FOUND);
  await rejectsWithCode(t, unary(admin, 'SetRoute', { model: 'm', splits: [split('v2', 10000)] }), status.NOT_FOUND);

  // A shadow reference also keeps a version.
  const route = JSON.parse((await etcd().client.get(keys.route('m')).string()) ?? '{}') as Record<string, unknown>;
  await etcd().client.put(keys.route('m')).value(JSON.stringify({ ...route, splits: [split('v1', 10000)], shadows: [{ version: 'v1', fraction: 1, addedAt: new Date().toISOString() }] }));
  await rejectsWithCode(t, unary(admin, 'DeleteVersion', { model: 'm', version: 'v1' }), status.FAILED_PRECONDITION, /shadow/);
});

test('an invalid stored route is reported by GetRoute, blocks DeleteVersion and can be replaced by SetRoute', async (t) => {
  const { admin, keys, logs } = await withVersions(t, 1);
  await etcd().client.put(keys.route('m')).value('{"model":"m","splits":[{"version":"v1","weight":5}]}');
  await rejectsWithCode(t, unary(admin, 'GetRoute', { model: 'm' }), status.INTERNAL, new RegExp(keys.route('m')));
  await rejectsWithCode(t, unary(admin, 'DeleteVersion', { model: 'm', version: 'v1' }), status.FAILED_PRECONDITION, /invalid/);
  await unary(admin, 'SetRoute', { model: 'm', splits: [split('v1', 10000)] });
  t.deepEqual((await unary<RouteMessage>(admin, 'GetRoute', { model: 'm' })).splits, [split('v1', 10000)]);
  t.true(logs.some((r) => r['level'] === 'warn' && r['key'] === keys.route('m')));
});

test('of ten concurrent SetRoute calls with the same expected revision exactly one wins, and its route is stored', async (t) => {
  const { admin } = await withVersions(t, 2);
  const base = await unary<RouteMessage>(admin, 'SetRoute', { model: 'm', splits: [split('v1', 10000)] });
  const results = await Promise.allSettled(
    Array.from({ length: 10 }, (_, i) =>
      unary<RouteMessage>(admin, 'SetRoute', { model: 'm', splits: [split('v1', 1000 * i), split('v2', 10000 - 1000 * i)], expected_revision: base.revision }),
    ),
  );
  const won = results.filter((r): r is PromiseFulfilledResult<RouteMessage> => r.status === 'fulfilled');
  const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
  t.is(won.length, 1);
  t.is(lost.length, 9);
  t.true(lost.every((r) => (r.reason as { code?: number }).code === status.ABORTED));
  t.true(lost.every((r) => /re-read it and retry/.test((r.reason as { details?: string }).details ?? '')));
  const stored = await unary<RouteMessage>(admin, 'GetRoute', { model: 'm' });
  t.deepEqual(stored, won[0]!.value);
});
