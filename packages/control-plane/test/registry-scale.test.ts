import { monitorEventLoopDelay } from 'node:perf_hooks';
import test from 'ava';
import type { ModelRecord, RouteRecord } from '@switchyard/core';
import { waitFor } from '@switchyard/testkit';
import { versionRecord } from './helpers/seed.js';
import { freshKeys, startControlPlane, unary, useEtcd } from './helpers/harness.js';

const etcd = useEtcd(test);

// A registry past gRPC's 4 MiB message limit, written straight into etcd: the
// admin API would take minutes to fill it. Every read of a prefix that grows
// with the cluster must page, or it fails like this every time.
test('a registry past 4 MiB: the retirement dry run and sweep read it in pages, and one model lists its versions', async (t) => {
  t.timeout(180_000);
  const { client } = etcd();
  const harness = await startControlPlane(t, client, { retirement: { sweeperEnabled: false } });
  const { keys } = harness;
  const at = '2026-12-06T00:00:00.000Z';
  const models = 700;
  const writes: Promise<unknown>[] = [];
  const flush = async (): Promise<void> => void (await Promise.all(writes.splice(0)));
  for (let m = 0; m < models; m++) {
    const model = `model-${m}`;
    const record: ModelRecord = { name: model, owner: '', description: '', defaultExpiresAfterSeconds: 0, createdAt: at, updatedAt: at };
    const route: RouteRecord = { model, splits: [{ version: 'v10', weight: 10_000 }], updatedAt: at, updatedBy: 'test', shadows: [], rollout: null };
    writes.push(client.put(keys.model(model)).value(JSON.stringify(record)).exec(), client.put(keys.route(model)).value(JSON.stringify(route)).exec());
    for (let v = 1; v <= 10; v++) {
      const version = { ...versionRecord(model, `v${v}`, { createdAt: at }), description: 'd'.repeat(600) };
      writes.push(client.put(keys.version(model, version.version)).value(JSON.stringify(version)).exec());
    }
    if (writes.length >= 300) await flush();
  }
  await flush();
  // The cliff: one range read of the versions is refused.
  await t.throwsAsync(client.getAll().prefix(`${keys.targetPrefix()}versions/`).exec(), { message: /larger than max/ });

  // The dry run reads every model, version, route and usage record.
  const plan = await unary<{ entries: unknown[] }>(harness.admin, 'RetirementPlan', {});
  t.deepEqual(plan.entries, [], 'nothing expires, so nothing to do, and no error');
  const listed = await unary<{ versions: { version: string }[] }>(harness.admin, 'ListVersions', { model: 'model-699' });
  t.is(listed.versions.length, 10);
});

// The leader's periodic work at size: the retirement sweep, the artifact
// collector, the shadow keeper and the rollout controller, each every 100 ms,
// over a registry past 4 MiB. Each read pages, and parsing a large read lets
// the event loop go between slices, so the election lease's keep-alives and
// admin calls keep running: the leader never steps down because of size.
test('a leader working over a registry past 4 MiB never steps down, and its sweeps complete', async (t) => {
  t.timeout(240_000);
  const { client } = etcd();
  const now = new Date().toISOString();
  const keys = freshKeys();
  const writes: Promise<unknown>[] = [];
  const flush = async (): Promise<void> => void (await Promise.all(writes.splice(0)));
  for (let m = 0; m < 700; m++) {
    const model = `model-${m}`;
    const record: ModelRecord = { name: model, owner: 'o', description: '', defaultExpiresAfterSeconds: 0, createdAt: now, updatedAt: now };
    const route: RouteRecord = { model, splits: [{ version: 'v10', weight: 10_000 }], updatedAt: now, updatedBy: 'test', shadows: [], rollout: null };
    writes.push(client.put(keys.model(model)).value(JSON.stringify(record)).exec(), client.put(keys.route(model)).value(JSON.stringify(route)).exec());
    for (let v = 1; v <= 10; v++) {
      // model-0's unrouted versions are long expired: the sweep warns them, which shows it ran to the end.
      const createdAt = m === 0 && v < 10 ? '2020-01-01T00:00:00.000Z' : now;
      const version = { ...versionRecord(model, `v${v}`, { createdAt }), description: 'd'.repeat(600) };
      writes.push(client.put(keys.version(model, version.version)).value(JSON.stringify(version)).exec());
    }
    if (writes.length >= 300) await flush();
  }
  await flush();
  const lag = monitorEventLoopDelay({ resolution: 10 });
  lag.enable();
  const harness = await startControlPlane(t, client, {
    keys,
    retirement: { sweepIntervalMs: 100 },
    artifactSweepIntervalMs: 100,
    shadowKeeperIntervalMs: 100,
    rolloutTickMs: 100,
  });
  await waitFor(() => harness.cp.isLeader, { timeoutMs: 20_000, message: 'elected' });
  await waitFor(
    async () => {
      const listed = await unary<{ entries: { version: string; state: string }[] }>(harness.admin, 'ListRetirements', { model: 'model-0' });
      return listed.entries.filter((e) => e.state === 'WARNED').length === 9;
    },
    { timeoutMs: 120_000, message: "the sweep warned model-0's expired versions" },
  );
  // A few more rounds of every task at size.
  await new Promise((resolve) => setTimeout(resolve, 3000));
  lag.disable();
  t.log(`event loop delay while the leader worked: p99 ${Math.round(lag.percentile(99) / 1e6)} ms, max ${Math.round(lag.max / 1e6)} ms`);
  t.true(harness.cp.isLeader);
  const trouble = harness.logs.filter((r) => /stepping down|failed; retrying|pass failed/.test(String(r['message'])));
  t.deepEqual(trouble.map((r) => `${String(r['message'])} ${String(r['error'] ?? '')}`), []);
});
