import { join } from 'node:path';
import test from 'ava';
import { AdminClient } from '@switchyard/client';
import { ControlPlane } from '@switchyard/control-plane';
import { type HistoryEntryMessage, type RolloutMessage, type RouteRecord } from '@switchyard/core';
import { silentLogger } from '@switchyard/core/logging';
import {
  encodeModel,
  floatTensor,
  gatherModel,
  linearModel,
  node,
  slowModel,
  SLOW_MODEL_WIDTH,
  startEtcd,
  valueInfo,
  waitFor,
  type EtcdProcess,
} from '@switchyard/testkit';
import { TestCluster } from './helpers/cluster.js';
import { continuousLoad, type Inputs } from './helpers/continuous-load.js';

// Rollouts end to end: real nodes publish step figures to etcd, the leading
// control plane's controller sums them, judges the gates and moves the
// weights. Short steps (0.3 s, 20 requests) and fast ticks keep it quick.
let etcd: EtcdProcess;
test.before(async () => {
  etcd = await startEtcd();
});
test.after.always(async () => {
  await etcd?.destroy();
});

const FAST = { nodeOptions: { statsIntervalMs: 100 }, controlPlaneOptions: { rolloutTickMs: 100 } };
const ENDED = new Set(['SUCCEEDED', 'ROLLED_BACK', 'ABORTED']);

/** Requests to every node, two in flight per node, until stopped. */
function load(cluster: TestCluster, model: string, inputsFor: (i: number) => Inputs) {
  return continuousLoad(cluster, model, inputsFor, { perNode: 2 });
}

async function waitEnded(admin: AdminClient, model: string, timeoutMs = 20_000): Promise<RolloutMessage> {
  let last: RolloutMessage | undefined;
  await waitFor(
    async () => {
      last = await admin.getRollout(model);
      return ENDED.has(last.state);
    },
    { timeoutMs, intervalMs: 50, message: `the rollout of ${model} to end (last: ${last?.state} at step ${last?.step_index}, ${last?.waiting_for})` },
  );
  return last!;
}

/** The model's rollout history entries, oldest first. */
async function rolloutHistory(admin: AdminClient, model: string): Promise<{ action: string; actor: string; route: RouteRecord }[]> {
  const { entries } = await admin.listHistory({ model, page_size: 1000 });
  return entries
    .filter((e: HistoryEntryMessage) => e.action.startsWith('Rollout'))
    .reverse()
    .map((e: HistoryEntryMessage) => ({ action: e.action, actor: e.actor, route: JSON.parse(e.after_json) as RouteRecord }));
}

const linearInput = { name: 'x', datatype: 'FP32' as const, shape: [1, 3], data: Float32Array.from([1, 2, 3]) };

test.serial('a healthy version is rolled out step by step to 100% under load without a failed request', async (t) => {
  const cluster = await TestCluster.start({ etcd, nodes: 2, ...FAST });
  t.teardown(() => cluster.stop());
  await cluster.deploy('lin', linearModel({ weights: [1, 1, 1], bias: 0 }));
  const v2 = await cluster.createVersion('lin', linearModel({ weights: [1, 1, 1], bias: 0.5 }));
  const traffic = load(cluster, 'lin', () => [linearInput]);

  const started = await cluster.admin.startRollout({
    model: 'lin',
    to_version: v2,
    steps: [20, 50, 100],
    min_step_seconds: 0.3,
    min_step_requests: 20,
    // The p99 of a few dozen sub-millisecond requests on a busy shared machine is one GC pause;
    // the p99 gate has its own test below.
    gates: { max_p99_ratio: -1 },
  });
  t.is(started.state, 'PENDING');
  t.is(started.from_version, 'v1');
  // While the rollout owns the weights, a plain route change is refused.
  const refused = await t.throwsAsync(cluster.setRoute('lin', { v1: 5000, [v2]: 5000 }));
  t.regex(refused!.message, /has a (PENDING|PROGRESSING) rollout v1 → v2 that owns its weights; abort it \(all traffic back to v1\) or promote it/);

  const ended = await waitEnded(cluster.admin, 'lin');
  const stats = await traffic.stop();
  t.is(ended.state, 'SUCCEEDED', ended.reason);
  t.deepEqual(stats.failed, []);
  t.true(stats.ok > 0);
  t.deepEqual((await cluster.admin.getRoute('lin')).splits, [{ version: v2, weight: 10_000 }]);
  t.truthy(ended.last_to && Number(ended.last_to.requests) >= 20, 'the last observed step had its minimum of requests');

  const history = await rolloutHistory(cluster.admin, 'lin');
  t.deepEqual(
    history.map((h) => `${h.action}:${h.route.rollout!.stepIndex}`),
    ['RolloutStart:-1', 'RolloutStep:0', 'RolloutStep:1', 'RolloutSucceeded:2'],
  );
  t.true(history.slice(1).every((h) => h.actor === 'rollout-controller'));
  // The ended rollout's node figures are deleted.
  await waitFor(async () => (await cluster.client.getAll().prefix(cluster.keys.rolloutStatsPrefix('lin')).count()) === 0, {
    timeoutMs: 10_000,
    message: 'rollout figures deleted',
  });
});

/** Gather over an 8-row table: accepts indices 0–7, where testkit's gatherModel (4 rows) fails on 4–7. */
function wideGatherModel(): Uint8Array {
  const table = Array.from({ length: 8 }, (_, i) => [10 * i, 10 * i + 1]).flat();
  return encodeModel({
    name: 'gather8',
    nodes: [node('Gather', ['table', 'idx'], ['y'], { axis: 0 })],
    initializers: [floatTensor('table', [8, 2], table)],
    inputs: [valueInfo('idx', 'INT64', ['batch'])],
    outputs: [valueInfo('y', 'FP32', ['batch', 2])],
  });
}

test.serial('a version that fails on part of the traffic is rolled back with its error rate recorded', async (t) => {
  const cluster = await TestCluster.start({ etcd, nodes: 2, ...FAST });
  t.teardown(() => cluster.stop());
  await cluster.deploy('g', wideGatherModel());
  const bad = await cluster.createVersion('g', gatherModel());
  const traffic = load(cluster, 'g', (i) => [{ name: 'idx', datatype: 'INT64', shape: [1], data: BigInt64Array.of(BigInt(i % 8)) }]);

  await cluster.admin.startRollout({ model: 'g', to_version: bad, steps: [50, 100], min_step_seconds: 0.3, min_step_requests: 20 });
  const ended = await waitEnded(cluster.admin, 'g');
  await traffic.stop();
  t.is(ended.state, 'ROLLED_BACK');
  t.regex(ended.reason, /v2 failed \d+ of its first \d+ requests|error rate of v2/);
  t.truthy(ended.last_to);
  t.true(Number(ended.last_to!.errors) > 0);
  t.true(ended.last_to!.error_rate > 0.01);
  t.deepEqual((await cluster.admin.getRoute('g')).splits, [{ version: 'v1', weight: 10_000 }]);
  const history = await rolloutHistory(cluster.admin, 'g');
  t.deepEqual(history.map((h) => h.action), ['RolloutStart', 'RolloutStep', 'RolloutRollback']);
  t.is(history[2]!.route.rollout!.state, 'ROLLED_BACK');
});

test.serial('a much slower version is rolled back on the p99 gate', async (t) => {
  const cluster = await TestCluster.start({ etcd, nodes: 1, ...FAST });
  t.teardown(() => cluster.stop());
  await cluster.deploy('s', slowModel({ iterations: 1 }));
  const slow = await cluster.createVersion('s', slowModel({ iterations: 100 }));
  const x = { name: 'x', datatype: 'FP32' as const, shape: [1, SLOW_MODEL_WIDTH], data: new Float32Array(SLOW_MODEL_WIDTH).fill(1) };
  const traffic = load(cluster, 's', () => [x]);

  await cluster.admin.startRollout({ model: 's', to_version: slow, steps: [50, 100], min_step_seconds: 0.3, min_step_requests: 10 });
  const ended = await waitEnded(cluster.admin, 's', 30_000);
  const stats = await traffic.stop();
  t.is(ended.state, 'ROLLED_BACK');
  t.regex(ended.reason, /p99 latency of v2 [\d.]+ ms is [\d.]+× that of v1/);
  t.true(ended.last_to!.p99_ms! > ended.last_from!.p99_ms! * 1.5);
  t.deepEqual(stats.failed, [], 'slow is not failed: every request was answered');
  t.deepEqual((await cluster.admin.getRoute('s')).splits, [{ version: 'v1', weight: 10_000 }]);

  // StartRollout refuses what cannot work, with the reason.
  const admin = cluster.admin;
  await t.throwsAsync(admin.startRollout({ model: 's', to_version: 'v9' }), { message: /model s has no version v9/ });
  await t.throwsAsync(admin.startRollout({ model: 's', to_version: 'v1' }), { message: /already serves model s/ });
  await t.throwsAsync(admin.startRollout({ model: 's', to_version: slow, steps: [50, 20, 100] }), { message: /steps must increase/ });
  await t.throwsAsync(admin.startRollout({ model: 's', to_version: slow, min_step_seconds: -1 }), { message: /min_step_seconds is -1/ });
  await t.throwsAsync(admin.startRollout({ model: 'nope', to_version: slow }), { message: /serves no traffic yet/ });
  await t.throwsAsync(admin.getRollout('nope'), { message: /has no rollout/ });
  await t.throwsAsync(admin.resumeRollout('s'), { message: /already ended ROLLED_BACK/ });
});

test.serial('admins pause, resume and abort; a second control plane takes over mid-rollout and applies each step exactly once', async (t) => {
  const cluster = await TestCluster.start({ etcd, nodes: 2, ...FAST });
  t.teardown(() => cluster.stop());
  const second = await ControlPlane.create({
    etcd: cluster.client,
    keys: cluster.keys,
    // The same artifact store: nodes fetch from whichever control plane they find.
    dataDir: join(cluster.dir, 'control-plane'),
    logger: silentLogger(),
    auth: { disabled: true },
    rolloutTickMs: 100,
  });
  t.teardown(() => second.stop());
  await waitFor(() => cluster.controlPlane.isLeader !== second.isLeader, { timeoutMs: 10_000, message: 'one leader' });
  const [leader, follower] = cluster.controlPlane.isLeader ? [cluster.controlPlane, second] : [second, cluster.controlPlane];
  const admin = AdminClient.connect(follower.address, { source: 'the test' });
  t.teardown(() => admin.close());

  await cluster.deploy('k', linearModel({ weights: [1, 1, 1], bias: 0 }));
  const v2 = await cluster.createVersion('k', linearModel({ weights: [1, 1, 1], bias: 1 }));
  const traffic = load(cluster, 'k', () => [linearInput]);

  await admin.startRollout({ model: 'k', to_version: v2, steps: [10, 25, 50, 75, 100], min_step_seconds: 0.3, min_step_requests: 20, gates: { max_p99_ratio: -1 } });
  await waitFor(async () => (await admin.getRollout('k')).step_index >= 0, { timeoutMs: 10_000, message: 'the first step' });
  const paused = await admin.pauseRollout('k', 'looking at dashboards');
  t.is(paused.state, 'PAUSED');
  await t.throwsAsync(admin.pauseRollout('k'), { message: /already paused/ });
  const held = paused.step_index;
  await new Promise((r) => setTimeout(r, 500));
  const stillPaused = await admin.getRollout('k');
  t.is(stillPaused.step_index, held, 'a paused rollout does not advance');
  t.regex(stillPaused.waiting_for, /resume/);
  t.is((await admin.resumeRollout('k')).state, 'PROGRESSING');

  // Kill the leader during a step; the other replica continues from the stored step.
  await waitFor(async () => (await admin.getRollout('k')).step_index >= 1, { timeoutMs: 10_000, message: 'the second step' });
  await leader.stop();
  // Three more steps of at least 0.3 s each were still to come when the leader stopped.
  const atStop = await admin.getRollout('k');
  t.is(atStop.state, 'PROGRESSING');
  await waitFor(() => follower.isLeader, { timeoutMs: 10_000, message: 'the other replica leading' });
  const ended = await waitEnded(admin, 'k');
  const stats = await traffic.stop();
  t.is(ended.state, 'SUCCEEDED', ended.reason);
  t.deepEqual(stats.failed, []);

  const steps = (await rolloutHistory(admin, 'k'))
    .filter((h) => h.action === 'RolloutStep' || h.action === 'RolloutSucceeded')
    .map((h) => h.route.rollout!.stepIndex);
  t.deepEqual(steps, [0, 1, 2, 3, 4], 'every step applied once, in order');
  t.true(atStop.step_index < 4, 'the replica that took over applied the remaining steps');

  // Abort of a new rollout sends everything back to the old version.
  const { sha256 } = await admin.uploadBytes(linearModel({ weights: [1, 1, 1], bias: 2 }));
  const v3 = (await admin.createVersion({ model: 'k', artifact_sha256: sha256 })).version;
  await admin.startRollout({ model: 'k', to_version: v3, steps: [50, 100], min_step_seconds: 60, min_step_requests: 1_000_000 });
  await t.throwsAsync(admin.startRollout({ model: 'k', to_version: v3 }), { message: /already has a (PENDING|PROGRESSING) rollout/ });
  const aborted = await admin.abortRollout('k', 'changed my mind');
  t.is(aborted.state, 'ABORTED');
  t.is(aborted.reason, 'changed my mind');
  t.deepEqual((await admin.getRoute('k')).splits, [{ version: v2, weight: 10_000 }]);
  await t.throwsAsync(admin.promoteRollout('k'), { message: /already ended ABORTED/ });
});
