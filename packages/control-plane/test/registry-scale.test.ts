import test from 'ava';
import type { ModelRecord, RouteRecord } from '@switchyard/core';
import { versionRecord } from './helpers/seed.js';
import { startControlPlane, unary, useEtcd } from './helpers/harness.js';

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
