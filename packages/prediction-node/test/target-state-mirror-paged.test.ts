import test from 'ava';
import { KeyLayout, type VersionRecord } from '@switchyard/core';
import { createEtcdClient } from '@switchyard/core/etcd';
import { capturingLogger, waitFor } from '@switchyard/testkit';
import { TargetStateMirror } from '../src/target-state-mirror.js';
import type { TargetState } from '../src/target-state.js';
import { useRealEtcd } from './helpers/real-etcd.js';

const etcd = useRealEtcd(test);

/** A version record with a description long enough that 7,000 of them pass gRPC's 4 MiB message limit. */
function version(model: string, name: string): VersionRecord {
  return {
    model,
    version: name,
    artifact: { sha256: 'a'.repeat(64), size: 1 },
    signature: { inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 3] }], outputs: [{ name: 'y', datatype: 'FP32', shape: [-1, 1] }] },
    createdAt: '2026-12-06T00:00:00.000Z',
    createdBy: 'test',
    description: 'd'.repeat(600),
    labels: {},
    expiresAfterSeconds: 0,
    samples: null,
  };
}

test('a registry past the 4 MiB message limit is read in pages at one revision, then watched', async (t) => {
  t.timeout(120_000);
  const client = createEtcdClient({ endpoints: etcd().endpoint });
  t.teardown(() => client.close());
  const keys = new KeyLayout('/paged/');
  // 700 models × 10 versions, written straight into etcd: the API would be too slow to fill it.
  const records = Array.from({ length: 700 }, (_, m) => Array.from({ length: 10 }, (_, v) => version(`model-${m}`, `v${v + 1}`))).flat();
  for (let i = 0; i < records.length; i += 100) {
    await Promise.all(records.slice(i, i + 100).map((r) => client.put(keys.version(r.model, r.version)).value(JSON.stringify(r))));
  }
  // The cliff this crosses: one range read of the subtree is refused.
  await t.throwsAsync(client.getAll().prefix(keys.targetPrefix()).exec(), { message: /larger than max/ });

  let state: TargetState | undefined;
  const { logger } = capturingLogger();
  const mirror = new TargetStateMirror({ etcd: client, keys, logger, onChange: (s) => (state = s) });
  mirror.start();
  t.teardown(() => mirror.stop());
  await waitFor(() => state?.versions.size === 7000, { timeoutMs: 60_000, message: 'all 7,000 versions read' });
  t.is(state!.versions.get('model-699/v10')?.description.length, 600);

  // The watch starts after the paged read's revision: a change made now arrives.
  await client.put(keys.version('model-0', 'v11')).value(JSON.stringify(version('model-0', 'v11')));
  await waitFor(() => state?.versions.size === 7001, { timeoutMs: 10_000, message: 'the new version seen by the watch' });
  t.pass();
});

test('a fresh node reads routes and the versions they name first, marked incomplete; the rest follows, and the watch wins over it', async (t) => {
  t.timeout(120_000);
  const client = createEtcdClient({ endpoints: etcd().endpoint });
  t.teardown(() => client.close());
  const keys = new KeyLayout('/two-phase/');
  const records = Array.from({ length: 300 }, (_, m) => Array.from({ length: 10 }, (_, v) => version(`model-${m}`, `v${v + 1}`))).flat();
  for (let i = 0; i < records.length; i += 100) {
    await Promise.all(records.slice(i, i + 100).map((r) => client.put(keys.version(r.model, r.version)).value(JSON.stringify(r))));
  }
  for (const model of ['model-1', 'model-2']) {
    const route = { model, splits: [{ version: 'v3', weight: 10_000 }], updatedAt: '2026-12-06T00:00:00.000Z', updatedBy: 't', shadows: [], rollout: null };
    await client.put(keys.route(model)).value(JSON.stringify(route));
  }

  const states: TargetState[] = [];
  const { logger } = capturingLogger();
  const mirror = new TargetStateMirror({ etcd: client, keys, logger, onChange: (s) => states.push(s) });
  mirror.start();
  t.teardown(() => mirror.stop());
  await waitFor(() => states.some((s) => s.complete !== false), { timeoutMs: 60_000, message: 'a complete state' });
  const first = states[0]!;
  t.false(first.complete, 'the first state is marked incomplete');
  t.deepEqual([...first.routes.keys()].sort(), ['model-1', 'model-2']);
  t.truthy(first.versions.get('model-1/v3'), 'a routed version is in the first state');
  const last = states[states.length - 1]!;
  t.is(last.versions.size, 3000);
  t.true(last.complete);

  // After the background read, changes keep arriving through the watch.
  await client.delete().key(keys.version('model-7', 'v1'));
  await waitFor(() => mirror.current()?.versions.get('model-7/v1') === undefined, { timeoutMs: 10_000, message: 'the deletion seen' });
  t.is(mirror.current()!.versions.size, 2999);
});
