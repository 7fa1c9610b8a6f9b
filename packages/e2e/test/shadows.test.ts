import test from 'ava';
import {
  ADMIN_SERVICE_NAME,
  decodeRaw,
  requiredRole,
  systemClock,
  type Clock,
  type ShadowListMessage,
  type ShadowPairReportMessage,
  type ShadowReportMessage,
} from '@switchyard/core';
import { silentLogger } from '@switchyard/core/logging';
import { ShadowKeeper, SHADOW_KEEPER_ACTOR, StaticLeadership, TargetStateStore } from '@switchyard/control-plane';
import { encodeModel, gatherModel, int64Tensor, linearModel, node, slowModel, startEtcd, valueInfo, waitFor, type EtcdProcess } from '@switchyard/testkit';
import { TestCluster } from './helpers/cluster.js';

// Shadow traffic through a real control plane and node: comparison figures,
// failing and slow shadows, the admin RPCs and the keeper.
let etcd: EtcdProcess;
test.before(async () => {
  etcd = await startEtcd();
});
test.after.always(async () => {
  await etcd?.destroy();
});

/** Fast publishing, and never busy: these tests count exactly; shedding has its own unit test. */
const NODE_OPTIONS = { statsIntervalMs: 100, shadow: { busyThreshold: 1 } };

const x = { name: 'x', datatype: 'FP32' as const, shape: [1, 3], data: Float32Array.from([1, 2, 3]) };

async function report(cluster: TestCluster, model: string): Promise<ShadowReportMessage> {
  return cluster.adminCall<ShadowReportMessage>('GetShadowReport', { model });
}

function pair(r: ShadowReportMessage, shadow: string): ShadowPairReportMessage | undefined {
  return r.pairs.find((p) => p.shadow === shadow);
}

/** Waits until every sampled request of `shadow` is accounted for (compared, failed or dropped) and `mirrored` reached `n`. */
async function settled(cluster: TestCluster, model: string, shadow: string, n: number): Promise<ShadowPairReportMessage> {
  let last: ShadowPairReportMessage | undefined;
  await waitFor(
    async () => {
      last = pair(await report(cluster, model), shadow);
      if (!last || Number(last.mirrored) < n) return false;
      const done = Number(last.compared) + Number(last.dropped) + Number(last.failed_error) + Number(last.failed_timeout) + Number(last.failed_shape);
      return done === Number(last.mirrored);
    },
    { timeoutMs: 20_000, message: `shadow ${shadow} of ${model} settled at ${n} mirrored requests` },
  );
  return last!;
}

/** Waits until node 0 has every version of `model` in `versions` loaded. */
async function loaded(cluster: TestCluster, model: string, versions: string[]): Promise<void> {
  await waitFor(() => versions.every((v) => cluster.nodes[0]!.table.versions.has(`${model}/${v}`)), {
    timeoutMs: 20_000,
    message: `node loaded ${versions.join(', ')} of ${model}`,
  });
}

test('an identical shadow agrees 100% with no difference; one with bias +0.5 shows a difference of 0.5', async (t) => {
  const cluster = await TestCluster.start({ etcd, nodes: 1, nodeOptions: NODE_OPTIONS });
  try {
    const weights = [1, 2, 3];
    await cluster.deploy('m', linearModel({ weights, bias: 0 }));
    await cluster.createVersion('m', linearModel({ weights, bias: 0 }));
    await cluster.createVersion('m', linearModel({ weights, bias: 0.5 }));
    await cluster.adminCall('AddShadow', { model: 'm', version: 'v2', fraction: 1 });
    const list = await cluster.adminCall<ShadowListMessage>('AddShadow', { model: 'm', version: 'v3', fraction: 1, tolerance: 0.1, duration_seconds: 3600 });
    t.deepEqual(list.shadows.map((s) => [s.version, s.fraction, s.tolerance]), [['v2', 1, 1e-5], ['v3', 1, 0.1]]);
    t.truthy(list.shadows[1]!.until);
    await loaded(cluster, 'm', ['v1', 'v2', 'v3']);

    const n = 20;
    for (let i = 0; i < n; i++) {
      const response = await cluster.infer(0, 'm', [x]);
      t.is(response.model_version, 'v1');
      t.is((decodeRaw('FP32', response.raw_output_contents[0]!) as Float32Array)[0], 14);
    }
    const same = await settled(cluster, 'm', 'v2', n);
    t.is(same.primary, 'v1');
    t.is(Number(same.compared), n);
    t.is(Number(same.agreed), n);
    t.is(same.agreement, 1);
    t.is(Number(same.dropped), 0);
    t.deepEqual(same.outputs.map((o) => [o.name, Number(o.elements), o.mean_abs_diff, o.max_abs_diff, o.within_tolerance]), [['y', n, 0, 0, 1]]);

    const off = await settled(cluster, 'm', 'v3', n);
    t.is(Number(off.compared), n);
    t.is(Number(off.agreed), 0);
    t.is(off.agreement, 0);
    const y = off.outputs[0]!;
    t.true(Math.abs(y.mean_abs_diff - 0.5) < 1e-6, `mean |diff| ${y.mean_abs_diff}`);
    t.true(Math.abs(y.max_abs_diff - 0.5) < 1e-6, `max |diff| ${y.max_abs_diff}`);
    t.is(y.within_tolerance, 0);
    t.true(off.active);

    // Prometheus figures on the node.
    const text = await cluster.nodes[0]!.metrics.registry.metrics();
    t.regex(text, /switchyard_shadow_compared_total\{model="m",primary="v1",shadow="v3"[^}]*\} 20/);
    t.regex(text, /switchyard_shadow_max_abs_diff\{model="m",primary="v1",shadow="v3",output="y"[^}]*\} 0\.5/);

    // Removing keeps the figures; the report marks the pair inactive.
    const removed = await cluster.adminCall<ShadowListMessage>('RemoveShadow', { model: 'm', version: 'v3' });
    t.deepEqual(removed.shadows.map((s) => s.version), ['v2']);
    const after = pair(await report(cluster, 'm'), 'v3')!;
    t.false(after.active);
    t.is(Number(after.compared), n);
    const history = await cluster.admin.listHistory({ model: 'm' });
    t.deepEqual(history.entries.slice(0, 3).map((e) => e.action), ['RemoveShadow', 'AddShadow', 'AddShadow']);
  } finally {
    await cluster.stop();
  }
});

test('AddShadow refuses what cannot be a shadow, changes an existing one; roles; SetRoute keeps shadows', async (t) => {
  t.deepEqual(
    ['AddShadow', 'RemoveShadow', 'ListShadows', 'GetShadowReport'].map((m) => requiredRole(ADMIN_SERVICE_NAME, m)),
    ['deployer', 'deployer', 'viewer', 'viewer'],
  );
  const cluster = await TestCluster.start({ etcd, nodes: 1, nodeOptions: NODE_OPTIONS });
  try {
    await cluster.deploy('r', linearModel({ weights: [1, 1, 1], bias: 0 }));
    const code = async (request: object) => ((await t.throwsAsync(cluster.adminCall('AddShadow', request))) as unknown as { code: number }).code;
    t.is(await code({ model: 'r', version: 'v9', fraction: 0.5 }), 5, 'unknown version: NOT_FOUND');
    t.is(await code({ model: 'r', version: 'v1', fraction: 0.5 }), 9, 'the only primary: FAILED_PRECONDITION');
    await cluster.createVersion('r', linearModel({ weights: [1, 1, 1], bias: 1 }));
    t.is(await code({ model: 'r', version: 'v2', fraction: 0 }), 3, 'fraction 0: INVALID_ARGUMENT');
    t.is(await code({ model: 'r', version: 'v2', fraction: 1.5 }), 3, 'fraction > 1: INVALID_ARGUMENT');
    t.is(await code({ model: 'r', version: 'v2', fraction: 0.5, until: '2000-01-01T00:00:00Z' }), 3, 'until in the past');
    t.is(await code({ model: 'r', version: 'v2', fraction: 0.5, until: '2999-01-01T00:00:00Z', duration_seconds: 5 }), 3, 'both until and a duration');
    t.is(await code({ model: 'r', version: 'v2', fraction: 0.5, expected_revision: 1 }), 10, 'stale revision: ABORTED');
    await cluster.adminCall('AddShadow', { model: 'r', version: 'v2', fraction: 0.5, budget: 100 });
    // Again: changes its settings.
    const changed = await cluster.adminCall<ShadowListMessage>('AddShadow', { model: 'r', version: 'v2', fraction: 0.25 });
    t.deepEqual(changed.shadows.map((s) => [s.version, s.fraction, Number(s.budget)]), [['v2', 0.25, 0]]);
    const listed = await cluster.adminCall<ShadowListMessage>('ListShadows', { model: 'r' });
    t.deepEqual(listed.shadows.map((s) => s.version), ['v2']);
    // SetRoute keeps the shadows.
    await cluster.setRoute('r', { v1: 10_000 });
    t.deepEqual((await cluster.adminCall<ShadowListMessage>('ListShadows', { model: 'r' })).shadows.map((s) => s.version), ['v2']);
    t.is(((await t.throwsAsync(cluster.adminCall('RemoveShadow', { model: 'r', version: 'v1' }))) as unknown as { code: number }).code, 5);
    // A report with no figures yet still lists the shadow.
    const empty = await report(cluster, 'r');
    t.deepEqual(empty.pairs, []);
    t.deepEqual(empty.shadows.map((s) => s.version), ['v2']);
  } finally {
    await cluster.stop();
  }
});

/** INT64 `idx` [batch] → FP32 `y` [batch, 2] = [idx, idx]: the same signature as gatherModel, but accepts any index. */
function castModel(): Uint8Array {
  return encodeModel({
    name: 'cast',
    nodes: [node('Cast', ['idx'], ['f'], { to: 1 }), node('Unsqueeze', ['f', 'axes'], ['u']), node('Concat', ['u', 'u'], ['y'], { axis: 1 })],
    initializers: [int64Tensor('axes', [1], [1])],
    inputs: [valueInfo('idx', 'INT64', ['batch'])],
    outputs: [valueInfo('y', 'FP32', ['batch', 2])],
  });
}

test('a shadow that throws is counted as failed; primaries answer unchanged; figures survive a node restart', async (t) => {
  const cluster = await TestCluster.start({ etcd, nodes: 1, nodeOptions: NODE_OPTIONS });
  try {
    await cluster.deploy('g', castModel());
    await cluster.createVersion('g', gatherModel());
    await cluster.adminCall('AddShadow', { model: 'g', version: 'v2', fraction: 1 });
    await loaded(cluster, 'g', ['v2']);
    for (let i = 0; i < 6; i++) {
      // Index 10 is out of range for the shadow (gatherModel) only.
      const response = await cluster.infer(0, 'g', [{ name: 'idx', datatype: 'INT64', shape: [1], data: BigInt64Array.from([10n]) }]);
      t.deepEqual([...(decodeRaw('FP32', response.raw_output_contents[0]!) as Float32Array)], [10, 10]);
    }
    const p = await settled(cluster, 'g', 'v2', 6);
    t.is(Number(p.failed_error), 6);
    t.is(Number(p.compared), 0);
    t.is(p.reporters, 1);

    // A restarted node reports under a new incarnation: the old figures still count.
    await cluster.stopNode(0);
    await cluster.addNode(0);
    await cluster.nodes[0]!.ready(20_000);
    await loaded(cluster, 'g', ['v1', 'v2']);
    for (let i = 0; i < 2; i++) await cluster.infer(0, 'g', [{ name: 'idx', datatype: 'INT64', shape: [1], data: BigInt64Array.from([10n]) }]);
    const after = await settled(cluster, 'g', 'v2', 8);
    t.is(Number(after.failed_error), 8);
    t.is(after.reporters, 2);
  } finally {
    await cluster.stop();
  }
});

test('a slow shadow times out and an overflowing queue drops; primaries answer unchanged', async (t) => {
  const cluster = await TestCluster.start({
    etcd,
    nodes: 1,
    nodeOptions: { statsIntervalMs: 100, shadow: { busyThreshold: 1, queueSize: 1, concurrency: 1, timeoutMs: 20 } },
  });
  try {
    await cluster.deploy('s', slowModel({ iterations: 1 }));
    await cluster.createVersion('s', slowModel({ iterations: 400 }));
    await cluster.adminCall('AddShadow', { model: 's', version: 'v2', fraction: 1 });
    await loaded(cluster, 's', ['v2']);
    const input = Float32Array.from({ length: 256 }, (_, i) => i);
    const n = 12;
    const responses = await Promise.all(
      Array.from({ length: n }, () => cluster.infer(0, 's', [{ name: 'x', datatype: 'FP32', shape: [1, 256], data: input }])),
    );
    for (const response of responses) {
      const y = decodeRaw('FP32', response.raw_output_contents[0]!) as Float32Array;
      t.is(response.model_version, 'v1');
      // One cyclic shift: y[j] = x[j-1].
      t.is(y[0], 255);
      t.is(y[1], 0);
    }
    const p = await settled(cluster, 's', 'v2', n);
    t.is(Number(p.mirrored), n);
    t.true(Number(p.failed_timeout) >= 1, `timeouts ${p.failed_timeout}`);
    t.is(Number(p.compared), 0);
    t.is(Number(p.dropped) + Number(p.failed_timeout), n);
  } finally {
    await cluster.stop();
  }
});

test('the keeper removes a shadow past its end time and one past its budget', async (t) => {
  const cluster = await TestCluster.start({ etcd, nodes: 1, nodeOptions: NODE_OPTIONS });
  try {
    await cluster.deploy('k', linearModel({ weights: [1, 2, 3], bias: 0 }));
    await cluster.createVersion('k', linearModel({ weights: [1, 2, 3], bias: 0 }));
    await cluster.createVersion('k', linearModel({ weights: [1, 2, 3], bias: 0 }));
    await cluster.adminCall('AddShadow', { model: 'k', version: 'v2', fraction: 1, duration_seconds: 3600 });
    await cluster.adminCall('AddShadow', { model: 'k', version: 'v3', fraction: 1, budget: 3 });
    await loaded(cluster, 'k', ['v2', 'v3']);

    let nowMs = Date.now();
    const clock: Clock = { now: () => nowMs, sleep: systemClock.sleep };
    const state = new TargetStateStore({ etcd: cluster.client, keys: cluster.keys, logger: silentLogger() });
    const keeper = new ShadowKeeper({ state, etcd: cluster.client, keys: cluster.keys, leadership: new StaticLeadership(true), logger: silentLogger(), clock });
    await keeper.tick();
    const shadows = async () => (await cluster.adminCall<ShadowListMessage>('ListShadows', { model: 'k' })).shadows.map((s) => s.version);
    t.deepEqual(await shadows(), ['v2', 'v3'], 'nothing ends before its time or budget');

    for (let i = 0; i < 3; i++) await cluster.infer(0, 'k', [x]);
    await settled(cluster, 'k', 'v3', 3);
    await keeper.tick();
    t.deepEqual(await shadows(), ['v2'], 'v3 reached its budget');

    nowMs += 2 * 3600_000;
    await keeper.tick();
    t.deepEqual(await shadows(), [], 'v2 passed its end time');
    // A follower does nothing.
    const follower = new ShadowKeeper({ state, etcd: cluster.client, keys: cluster.keys, leadership: new StaticLeadership(false), logger: silentLogger(), clock });
    await follower.tick();

    const history = await cluster.admin.listHistory({ model: 'k' });
    const removals = history.entries.filter((e) => e.action === 'RemoveShadow');
    t.deepEqual(removals.map((e) => [e.actor, e.version]), [[SHADOW_KEEPER_ACTOR, 'v2'], [SHADOW_KEEPER_ACTOR, 'v3']]);
    await keeper.stop();
  } finally {
    await cluster.stop();
  }
});
