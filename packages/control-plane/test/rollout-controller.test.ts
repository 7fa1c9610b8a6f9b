import test from 'ava';
import {
  emptyHistogram,
  histogramBucket,
  HistoryEntryRecordSchema,
  RouteRecordSchema,
  type Clock,
  type KeyLayout,
  type RolloutStatsRecord,
  type RouteRecord,
  type VersionRecord,
} from '@switchyard/core';
import { createEtcdClient } from '@switchyard/core/etcd';
import { silentLogger } from '@switchyard/core/logging';
import { startEtcd, type EtcdProcess } from '@switchyard/testkit';
import type { Etcd3 } from 'etcd3';
import { RolloutAdmin, RolloutController, RolloutFiguresReader, RolloutMetrics, StaticLeadership, TargetStateStore } from '../src/index.js';
import { rolloutPlacementWait } from '../src/rollout-placement.js';
import { freshKeys } from './helpers/harness.js';

// The controller against a real etcd, with a hand-moved clock and passes
// run by the test: leadership, compare-and-swap races, step figures.
let etcdProcess: EtcdProcess;
let etcd: Etcd3;
test.before(async () => {
  etcdProcess = await startEtcd();
  etcd = createEtcdClient({ endpoints: etcdProcess.endpoint });
});
test.after.always(async () => {
  etcd?.close();
  await etcdProcess?.destroy();
});

const T0 = Date.parse('2026-01-01T00:00:00.000Z');

function fakeClock(): Clock & { advance(ms: number): void } {
  let now = T0;
  return { now: () => now, sleep: () => new Promise(() => undefined), advance: (ms) => void (now += ms) };
}

function version(model: string, name: string): VersionRecord {
  return {
    model,
    version: name,
    artifact: { sha256: 'a'.repeat(64), size: 1 },
    signature: { inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 1] }], outputs: [{ name: 'y', datatype: 'FP32', shape: [-1, 1] }] },
    createdAt: new Date(T0).toISOString(),
    createdBy: '',
    description: '',
    labels: {},
    expiresAfterSeconds: 0,
    samples: null,
    validation: { state: 'PASSED', reason: '', samples: 0, goldenRecorded: false, maxAbsDiff: 0, durationMs: 1, validatedAt: new Date(T0).toISOString() },
  };
}

async function setUp(keys: KeyLayout, clock: Clock) {
  const state = new TargetStateStore({ etcd, keys, logger: silentLogger() });
  for (const v of ['v1', 'v2']) await etcd.put(keys.version('m', v)).value(JSON.stringify(version('m', v)));
  const route: RouteRecord = { model: 'm', splits: [{ version: 'v1', weight: 10_000 }], updatedAt: new Date(T0).toISOString(), updatedBy: '', shadows: [], rollout: null };
  await etcd.put(keys.route('m')).value(JSON.stringify(route));
  const figures = new RolloutFiguresReader({ etcd, keys, logger: silentLogger() });
  // One set of metrics for every writer, as in one control plane: each committed change counts once.
  const metrics = new RolloutMetrics();
  const admin = new RolloutAdmin({ state, figures, clock, logger: silentLogger(), metrics });
  const controller = (leader: boolean) =>
    new RolloutController({ etcd, keys, state, figures, leadership: new StaticLeadership(leader), clock, logger: silentLogger(), metrics });
  return { state, admin, controller, metrics };
}

async function readRoute(keys: KeyLayout): Promise<RouteRecord> {
  return RouteRecordSchema.parse(JSON.parse((await etcd.get(keys.route('m')).string())!));
}

async function historyActions(keys: KeyLayout): Promise<string[]> {
  // In write order: the fake clock gives every entry the same time, hence the same id prefix.
  const { kvs } = await etcd.getAll().prefix(keys.historyPrefix('m')).exec();
  return kvs
    .sort((a, b) => Number(BigInt(a.mod_revision) - BigInt(b.mod_revision)))
    .map((kv) => {
      const entry = HistoryEntryRecordSchema.parse(JSON.parse(kv.value.toString('utf8')));
      return `${entry.action}:${(entry.after as RouteRecord).rollout?.stepIndex}`;
    });
}

/** One node's report of a step: `ms` latency for every answered request. */
async function report(keys: KeyLayout, rolloutId: string, step: number, reporter: string, v1: [number, number, number], v2: [number, number, number]) {
  const counters = ([requests, errors, ms]: [number, number, number]) => {
    const latency = emptyHistogram();
    latency[histogramBucket(ms / 1000)] = requests - errors;
    return { requests, errors, latencySumSeconds: ((requests - errors) * ms) / 1000, latency };
  };
  const record: RolloutStatsRecord = {
    nodeId: reporter,
    incarnation: 'x',
    model: 'm',
    rolloutId,
    step,
    versions: { v1: counters(v1), v2: counters(v2) },
    updatedAt: new Date().toISOString(),
  };
  await etcd.put(keys.rolloutStats('m', rolloutId, step, `${reporter}.x`)).value(JSON.stringify(record));
}

test('a replica that does not lead never writes; the leader steps on figures summed over every node and succeeds', async (t) => {
  const keys = freshKeys();
  const clock = fakeClock();
  const { admin, controller, metrics } = await setUp(keys, clock);
  const started = await admin.startRollout({ model: 'm', to_version: 'v2', from_version: '', steps: [10, 50, 100], min_step_seconds: 60, min_step_requests: 100, gates: null });

  await controller(false).pass();
  t.is((await readRoute(keys)).rollout!.state, 'PENDING', 'a follower leaves the rollout alone');

  const leader = controller(true);
  await leader.pass();
  let route = await readRoute(keys);
  t.is(route.rollout!.state, 'PROGRESSING');
  t.deepEqual(route.splits, [{ version: 'v1', weight: 9000 }, { version: 'v2', weight: 1000 }]);
  t.is(await metrics.active('PROGRESSING'), 1, 'the leader counts the rollout it drives');
  t.is(await metrics.active('PENDING'), 0);

  // 60 requests on each of two nodes: enough only summed.
  await report(keys, started.id, 0, 'n1', [540, 0, 1], [60, 0, 1]);
  clock.advance(61_000);
  await leader.pass();
  t.is((await readRoute(keys)).rollout!.stepIndex, 0, 'one node alone has not enough requests');
  await report(keys, started.id, 0, 'n2', [540, 0, 1], [60, 0, 1]);
  await leader.pass();
  route = await readRoute(keys);
  t.is(route.rollout!.stepIndex, 1);
  t.is(route.rollout!.lastFigures!.to.requests, 120);

  await report(keys, started.id, 1, 'n1', [500, 0, 1], [500, 0, 1]);
  clock.advance(61_000);
  await leader.pass();
  route = await readRoute(keys);
  t.is(route.rollout!.state, 'SUCCEEDED');
  t.deepEqual(route.splits, [{ version: 'v2', weight: 10_000 }]);
  t.deepEqual(await historyActions(keys), ['RolloutStart:-1', 'RolloutStep:0', 'RolloutStep:1', 'RolloutSucceeded:2']);
  t.is(await etcd.getAll().prefix(keys.rolloutStatsPrefix('m', started.id)).count(), 0, 'figures deleted at the end');
  t.like(leader.counts, { steps: 2, succeeded: 1, rolledBack: 0 });
  t.deepEqual(
    await Promise.all((['PENDING', 'PROGRESSING', 'SUCCEEDED', 'ROLLED_BACK', 'ABORTED'] as const).map((s) => metrics.transitions('m', s))),
    [1, 1, 1, 0, 0],
    'start, first step and success each counted once',
  );
  t.is(await metrics.steps('m'), 1, 'the step within PROGRESSING');
  t.is(await metrics.active('PROGRESSING'), 0, 'an ended rollout is no longer active');
  await controller(false).pass();
  t.is(await metrics.active('PROGRESSING'), 0);
});

test('two leaders at once (split brain) apply each step exactly once; a failing gate rolls back with the figures', async (t) => {
  const keys = freshKeys();
  const clock = fakeClock();
  const { admin, controller, metrics } = await setUp(keys, clock);
  const started = await admin.startRollout({ model: 'm', to_version: 'v2', from_version: '', steps: [10, 50, 100], min_step_seconds: 1, min_step_requests: 10, gates: null });
  const a = controller(true);
  const b = controller(true);
  await Promise.all([a.pass(), b.pass(), a.pass(), b.pass()]);
  t.deepEqual(await historyActions(keys), ['RolloutStart:-1', 'RolloutStep:0']);
  t.true(a.counts.conflicts + b.counts.conflicts >= 1, 'the loser of the race saw the route change');

  // An admin's pause racing the controller: at most one of them applies to a revision.
  await report(keys, started.id, 0, 'n1', [100, 0, 1], [20, 0, 1]);
  clock.advance(2000);
  const [paused] = await Promise.allSettled([admin.act('pause', { model: 'm', reason: '' }), a.pass()]);
  const actions = await historyActions(keys);
  if (paused.status === 'fulfilled') {
    t.is(actions.at(-1), 'RolloutPause:0');
    t.is(actions.filter((x) => x.startsWith('RolloutStep')).length, 1);
    await admin.act('resume', { model: 'm', reason: '' });
    await a.pass();
  } else {
    t.regex(String(paused.reason), /changed meanwhile/);
  }
  t.is((await readRoute(keys)).rollout!.stepIndex, 1);

  // v2 now 50% slower than allowed and failing: rolled back at once, figures kept.
  await report(keys, started.id, 1, 'n1', [100, 0, 1], [100, 30, 40]);
  await Promise.all([a.pass(), b.pass()]);
  const route = await readRoute(keys);
  t.is(route.rollout!.state, 'ROLLED_BACK');
  t.deepEqual(route.splits, [{ version: 'v1', weight: 10_000 }]);
  t.regex(route.rollout!.reason, /error rate of v2 30% \(30 of 100\) is above the limit 1%/);
  t.regex(route.rollout!.reason, /p99 latency of v2/);
  t.is(route.rollout!.lastFigures!.to.errors, 30);
  t.is((await historyActions(keys)).filter((x) => x.startsWith('RolloutRollback')).length, 1);
  t.is(await metrics.transitions('m', 'ROLLED_BACK'), 1, 'two leaders racing count the rollback once');
  t.is(await metrics.transitions('m', 'SUCCEEDED'), 0);
  t.is(await metrics.transitions('m', 'PAUSED'), paused.status === 'fulfilled' ? 1 : 0);
  t.is(await metrics.transitions('m', 'PROGRESSING'), paused.status === 'fulfilled' ? 2 : 1, 'the first step, and the resume after a pause');
  t.is(await metrics.steps('m'), 1);
});

test('a rollout whose new version takes no traffic rolls back at its progress deadline, saying what it waited for', async (t) => {
  const keys = freshKeys();
  const clock = fakeClock();
  const { admin, controller, metrics } = await setUp(keys, clock);
  const started = await admin.startRollout({
    model: 'm',
    to_version: 'v2',
    from_version: '',
    steps: [10, 100],
    min_step_seconds: 60,
    min_step_requests: 100,
    progress_deadline_seconds: 600,
    gates: null,
  });
  t.is(started.progress_deadline_seconds, 600);
  const leader = controller(true);
  await leader.pass();
  // v2 never became READY: the nodes send its share to v1, so it takes nothing.
  await report(keys, started.id, 0, 'n1', [1000, 0, 1], [0, 0, 1]);
  clock.advance(599_000);
  await leader.pass();
  t.is((await readRoute(keys)).rollout!.state, 'PROGRESSING', 'inside the deadline it waits');
  clock.advance(2000);
  await leader.pass();
  const route = await readRoute(keys);
  t.is(route.rollout!.state, 'ROLLED_BACK');
  t.deepEqual(route.splits, [{ version: 'v1', weight: 10_000 }]);
  t.regex(route.rollout!.reason, /no progress for 10 min 1 s at step 1 \(10% to v2\), more than the progress deadline of 10 min: still waiting for 100 more requests to v2 \(0 of 100\)/);
  t.is(await metrics.transitions('m', 'ROLLED_BACK'), 1);
});

test("with placement, the first step waits for the new version's placement and a READY copy, and the deadline still applies", async (t) => {
  const keys = freshKeys();
  const clock = fakeClock();
  const { admin, state, figures, metrics } = { ...(await setUp(keys, clock)), figures: new RolloutFiguresReader({ etcd, keys, logger: silentLogger() }) };
  await admin.startRollout({ model: 'm', to_version: 'v2', from_version: '', steps: [10, 100], min_step_seconds: 60, min_step_requests: 100, gates: null, progress_deadline_seconds: 600 });
  const leader = new RolloutController({ state, figures, leadership: new StaticLeadership(true), clock, logger: silentLogger(), metrics, notPlaced: rolloutPlacementWait(state.tables) });
  const at = new Date(T0).toISOString();

  await leader.pass();
  t.is((await readRoute(keys)).rollout!.stepIndex, -1, 'not placed yet');
  const placement = { model: 'm', version: 'v2', copies: [{ nodeId: 'n1', since: at }], wantedCopies: 1, estimatedBytes: 1, reason: '', updatedAt: at };
  await etcd.put(keys.placement('m', 'v2')).value(JSON.stringify(placement));
  await leader.pass();
  t.is((await readRoute(keys)).rollout!.stepIndex, -1, 'placed, not loaded yet');

  const node = { id: 'n1', address: '127.0.0.1:1', metricsAddress: '', buildVersion: '', startedAt: at, memoryBudgetBytes: 100 };
  await etcd.put(keys.node('n1')).value(JSON.stringify(node));
  await etcd.put(keys.status('n1', 'm', 'v2')).value(JSON.stringify({ nodeId: 'n1', model: 'm', version: 'v2', state: 'READY', error: '', attempts: 1, updatedAt: at }));
  await leader.pass();
  const route = await readRoute(keys);
  t.is(route.rollout!.stepIndex, 0);
  t.deepEqual(route.splits, [{ version: 'v1', weight: 9000 }, { version: 'v2', weight: 1000 }]);
});

test('a rollout whose new version is never placed rolls back at its progress deadline, saying why', async (t) => {
  const keys = freshKeys();
  const clock = fakeClock();
  const { admin, state, metrics } = await setUp(keys, clock);
  const figures = new RolloutFiguresReader({ etcd, keys, logger: silentLogger() });
  await admin.startRollout({ model: 'm', to_version: 'v2', from_version: '', steps: [100], min_step_seconds: 0, min_step_requests: 0, gates: null, progress_deadline_seconds: 60 });
  const at = new Date(T0).toISOString();
  const placement = { model: 'm', version: 'v2', copies: [], wantedCopies: 1, estimatedBytes: 1, reason: '0 of 1 wanted copy placed: the nodes are full', updatedAt: at };
  await etcd.put(keys.placement('m', 'v2')).value(JSON.stringify(placement));
  const leader = new RolloutController({ state, figures, leadership: new StaticLeadership(true), clock, logger: silentLogger(), metrics, notPlaced: rolloutPlacementWait(state.tables) });
  await leader.pass();
  clock.advance(61_000);
  await leader.pass();
  const route = await readRoute(keys);
  t.is(route.rollout!.state, 'ROLLED_BACK');
  t.regex(route.rollout!.reason, /still waiting for a loaded copy of v2 \(0 of 1 wanted copy placed: the nodes are full\)/);
});
