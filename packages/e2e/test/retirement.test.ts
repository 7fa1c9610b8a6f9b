import test from 'ava';
import type { Clock, HistoryEntryMessage, RetirementEntryMessage, VersionMessage } from '@switchyard/core';
import { identityModel, linearModel, startEtcd, waitFor, type EtcdProcess } from '@switchyard/testkit';
import { continuousLoad } from './helpers/continuous-load.js';
import { TestCluster } from './helpers/cluster.js';

// Auto-retirement through a real cluster (2 nodes, real etcd, real onnxruntime)
// on a fake clock that the test moves by days: the control plane decides by it
// and the nodes report use in it.

const DAY_MS = 86_400_000;
let etcd: EtcdProcess;
test.before(async () => {
  etcd = await startEtcd();
});
test.after.always(async () => {
  await etcd?.destroy();
});

/** Wall time plus an offset the test moves forward. */
class ShiftedClock implements Clock {
  offsetMs = 0;
  now(): number {
    return Date.now() + this.offsetMs;
  }
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, ms));
  }
  advanceDays(days: number): void {
    this.offsetMs += days * DAY_MS;
  }
}

const x = { name: 'x', datatype: 'FP32' as const, shape: [1, 3], data: Float32Array.from([1, 0, 2]) };

async function retiringCluster(clock: ShiftedClock, options: { sweeper?: boolean } = {}): Promise<TestCluster> {
  return TestCluster.start({
    etcd,
    nodes: 2,
    controlPlaneOptions: {
      clock,
      retirement: { sweepIntervalMs: 50, sweeperEnabled: options.sweeper ?? true, defaultExpiresAfterSeconds: 30 * 86_400, warningSeconds: 7 * 86_400, artifactRetentionSeconds: 7 * 86_400 },
    },
    nodeOptions: { clock, statsIntervalMs: 100, usageIntervalMs: 200 },
  });
}

async function versionState(cluster: TestCluster, model: string, version: string): Promise<VersionMessage> {
  return cluster.admin.getVersion(model, version);
}

async function waitState(cluster: TestCluster, model: string, version: string, state: string): Promise<void> {
  await waitFor(async () => (await versionState(cluster, model, version)).retirement_state === state, {
    timeoutMs: 30_000,
    message: `${model}:${version} ${state}`,
  });
}

async function history(cluster: TestCluster, model: string): Promise<HistoryEntryMessage[]> {
  return (await cluster.admin.listHistory({ model, page_size: 1000 })).entries;
}

/** Whether no node has `model:version` loaded or reported any more. */
async function unloadedEverywhere(cluster: TestCluster, model: string, version: string): Promise<boolean> {
  for (const node of cluster.nodes) {
    if (node.table.versions.has(`${model}/${version}`)) return false;
    if ((await cluster.status(node.id, model, version)) !== undefined) return false;
  }
  return true;
}

test('an unused version is warned, cleared by use, warned again and retired: unloaded on every node, requests get the retired NOT_FOUND', async (t) => {
  const clock = new ShiftedClock();
  const cluster = await retiringCluster(clock);
  t.teardown(() => cluster.stop());
  await cluster.admin.createModel({ name: 'm', owner: 'team-a' });
  const v1 = await cluster.deploy('m', linearModel({ weights: [1, 1, 1], bias: 0 }));
  const listed = (await cluster.admin.listVersions('m')).versions[0]!;
  t.is(listed.last_used_at, '', 'never used');
  t.is(Date.parse(listed.expires_at!) - Date.parse(listed.created_at), 30 * DAY_MS, 'the clock starts at creation');

  clock.advanceDays(24);
  await waitState(cluster, 'm', v1, 'WARNED');
  t.is((await cluster.admin.listRetirements('m')).entries[0]?.state, 'WARNED');

  // One request on one node clears the warning.
  await cluster.infer(0, 'm', [x]);
  await waitState(cluster, 'm', v1, 'ACTIVE');
  const used = await versionState(cluster, 'm', v1);
  t.true(Date.parse(used.last_used_at!) > clock.now() - 60_000, 'last use folded from the node record');

  clock.advanceDays(24);
  await waitState(cluster, 'm', v1, 'WARNED');
  clock.advanceDays(8);
  await waitState(cluster, 'm', v1, 'RETIRED');

  await waitFor(() => unloadedEverywhere(cluster, 'm', v1), { timeoutMs: 30_000, message: 'v1 unloaded on both nodes' });
  const route = await cluster.admin.getRoute('m');
  t.deepEqual(route.splits, [], 'the only weighted version: route emptied');
  t.not((await cluster.admin.getModel('m')).retired_at, '');
  for (let i = 0; i < 2; i++) {
    const err = await t.throwsAsync(cluster.infer(i, 'm', [x]));
    t.is((err as { code?: number }).code, 5, 'NOT_FOUND');
    t.regex(err!.message, /model 'm' was retired at /);
  }
  const actions = (await history(cluster, 'm')).map((e) => e.action).reverse();
  for (const action of ['WarnExpiring', 'ClearWarning', 'RetireVersion', 'RetireRoute', 'RetireModel']) t.true(actions.includes(action), action);
  t.is(actions.filter((a) => a === 'RetireVersion').length, 1);
});

test('retiring one weighted version rescales the rest; a pinned version never expires; a shared artifact is kept until no live version uses it', async (t) => {
  const clock = new ShiftedClock();
  const cluster = await retiringCluster(clock);
  t.teardown(() => cluster.stop());
  const shared = linearModel({ weights: [1, 2, 3], bias: 0 });
  const { sha256 } = await cluster.upload(shared);
  const v1 = (await cluster.admin.createVersion({ model: 'b', artifact_sha256: sha256 })).version;
  const v2 = (await cluster.admin.createVersion({ model: 'b', artifact_sha256: sha256, expires_after_seconds: 365 * 86_400 })).version;
  const v3 = await cluster.createVersion('b', identityModel('FP32', ['batch', 3]));
  await cluster.setRoute('b', { [v1]: 2000, [v2]: 3000, [v3]: 5000 });
  await cluster.admin.pinVersion('b', v3, true);
  await waitFor(() => cluster.nodes.every((n) => n.table.routes.get('b')?.entries.length === 3), { timeoutMs: 30_000, message: 'three versions served' });

  clock.advanceDays(24);
  await waitState(cluster, 'b', v1, 'WARNED');
  clock.advanceDays(8);
  await waitState(cluster, 'b', v1, 'RETIRED');
  const route = await cluster.admin.getRoute('b');
  t.deepEqual(
    route.splits.map((s) => [s.version, s.weight]),
    [[v2, 3750], [v3, 6250]],
    'v1 dropped, 3:5 kept',
  );
  await waitFor(() => unloadedEverywhere(cluster, 'b', v1), { timeoutMs: 30_000, message: 'v1 unloaded on both nodes' });
  t.is((await versionState(cluster, 'b', v2)).retirement_state, 'ACTIVE');
  t.is((await versionState(cluster, 'b', v3)).retirement_state, 'ACTIVE');
  t.is((await versionState(cluster, 'b', v3)).expires_at, '', 'pinned: no expiry');

  // Past v1's retention, but v2 (not retired) shares the bytes.
  clock.advanceDays(8);
  await waitFor(async () => (await cluster.admin.retirementPlan('b')).entries.some((e) => e.version === v1 && /shares it/.test(e.reason)), {
    timeoutMs: 30_000,
    message: 'plan says the artifact is shared',
  });
  t.true(await cluster.controlPlane.artifacts.has(sha256), 'kept while shared');

  await cluster.admin.retire('b', v2);
  t.deepEqual((await cluster.admin.getRoute('b')).splits.map((s) => [s.version, s.weight]), [[v3, 10_000]]);
  clock.advanceDays(8);
  await waitFor(async () => !(await cluster.controlPlane.artifacts.has(sha256)), { timeoutMs: 30_000, message: 'artifact collected' });
  const retired: RetirementEntryMessage[] = (await cluster.admin.listRetirements('b')).entries;
  t.deepEqual(retired.map((e) => [e.version, e.state, e.artifact_deleted_at !== '']), [[v1, 'RETIRED', true], [v2, 'RETIRED', true]]);
  const unretire = await t.throwsAsync(cluster.admin.unretire('b', v1));
  t.regex(unretire!.message, /collected/);
  t.is((await versionState(cluster, 'b', v3)).retirement_state, 'ACTIVE', 'pinned for 48 days of disuse');
  const unpinned = await cluster.admin.pinVersion('b', v3, false);
  t.false(unpinned.pinned);
  t.not(unpinned.expires_at, '');
});

test('dry run lists what would be warned and retired without doing it; manual retire and unretire within the retention', async (t) => {
  const clock = new ShiftedClock();
  const cluster = await retiringCluster(clock, { sweeper: false });
  t.teardown(() => cluster.stop());
  const v1 = await cluster.deploy('d', linearModel({ weights: [1, 0, 0], bias: 1 }));
  const v2 = await cluster.createVersion('d', linearModel({ weights: [0, 1, 0], bias: 1 }));
  t.deepEqual((await cluster.admin.retirementPlan('d')).entries, [], 'nothing to do on day 0');

  clock.advanceDays(25);
  const plan = await cluster.admin.retirementPlan('');
  t.deepEqual(
    plan.entries.filter((e) => e.model === 'd').map((e) => [e.version, e.action]),
    [[v1, 'WARN'], [v2, 'WARN']],
  );
  t.regex(plan.entries[0]!.reason, /never used/);
  const before = (await history(cluster, 'd')).length;
  t.is((await versionState(cluster, 'd', v1)).retirement_state, 'ACTIVE', 'the dry run changed nothing');
  t.is((await history(cluster, 'd')).length, before);

  const retired = await cluster.admin.retire('d', v1);
  t.true(retired.model_retired, 'v1 carried all the weight');
  t.is(retired.retired[0]?.state, 'RETIRED');
  await waitFor(() => unloadedEverywhere(cluster, 'd', v1), { timeoutMs: 30_000, message: 'v1 unloaded' });
  const again = await t.throwsAsync(cluster.admin.retire('d', v1));
  t.regex(again!.message, /already retired/);
  const refused = await t.throwsAsync(cluster.setRoute('d', { [v1]: 10_000 }));
  t.regex(refused!.message, /unretire/);

  const back = await cluster.admin.unretire('d', v1);
  t.is(back.retirement_state, 'ACTIVE');
  t.is((await cluster.admin.getModel('d')).retired_at, '', 'the model is no longer retired');
  t.deepEqual((await cluster.admin.getRoute('d')).splits, [], 'unretire gives no weight');
  await cluster.setRoute('d', { [v1]: 10_000 });
  await cluster.waitServing('d', v1);
  t.is((await cluster.infer(0, 'd', [x])).model_version, v1);
  const actions = (await history(cluster, 'd')).map((e) => e.action);
  t.true(actions.includes('UnretireVersion') && actions.includes('UnretireModel'));
});

test('requests racing a retirement are served or get NOT_FOUND, never an internal error', async (t) => {
  const clock = new ShiftedClock();
  const cluster = await retiringCluster(clock, { sweeper: false });
  t.teardown(() => cluster.stop());
  await cluster.deploy('r', linearModel({ weights: [1, 1, 0], bias: 0 }));
  const load = continuousLoad(cluster, 'r', [x]);
  await waitFor(() => load.stats.ok > 50, { timeoutMs: 30_000, message: 'load running' });
  await cluster.admin.retire('r');
  await waitFor(() => cluster.nodes.every((n) => !n.table.routes.has('r')), { timeoutMs: 30_000, message: 'route gone everywhere' });
  const failedBefore = load.stats.failed.length;
  await waitFor(() => load.stats.failed.length > failedBefore + 20, { timeoutMs: 30_000, message: 'requests after the retirement' });
  const stats = await load.stop();
  t.true(stats.ok > 50);
  const wrong = stats.failed.filter((m) => !/NOT_FOUND/.test(m));
  t.deepEqual(wrong, [], 'only NOT_FOUND');
  t.true(stats.failed.slice(-10).every((m) => /was retired at/.test(m)));
});
