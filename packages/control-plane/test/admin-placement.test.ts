import anyTest, { type TestFn } from 'ava';
import { status } from '@grpc/grpc-js';
import type { Etcd3 } from 'etcd3';
import type {
  ClusterStatusMessage,
  KeyLayout,
  ModelMessage,
  ModelStatusMessage,
  NodeMemoryRecord,
  NodeRecord,
  VersionMessage,
  VersionStatusRecord,
} from '@switchyard/core';
import { linearModel, waitFor } from '@switchyard/testkit';
import { rejectsWithCode, startControlPlane, unary, upload, useEtcd } from './helpers/harness.js';

// Placement as the admin API shows and takes it (issue #16): model settings,
// the deploy-time size check, placements in model status, node memory in
// cluster status, measured memory in versions. Node keys are written as a node would.
const test = anyTest as TestFn;
const etcd = useEtcd(test);
const at = new Date().toISOString();

async function putNode(client: Etcd3, keys: KeyLayout, id: string, budgetBytes: number): Promise<void> {
  const record: NodeRecord = { id, address: '127.0.0.1:1', metricsAddress: '', buildVersion: 'test', startedAt: at, memoryBudgetBytes: budgetBytes, draining: false, httpAddress: '' };
  await client.put(keys.node(id)).value(JSON.stringify(record));
}

test('CreateModel and UpdateModel take placement settings, checked; GetModel shows them (defaults when unset)', async (t) => {
  const { admin } = await startControlPlane(t, etcd().client);
  const plain = await unary<ModelMessage>(admin, 'CreateModel', { name: 'plain' });
  t.deepEqual(plain.placement, { min_copies: 1, max_copies: 0, always_resident: false });
  const created = await unary<ModelMessage>(admin, 'CreateModel', { name: 'm', placement: { min_copies: 2, max_copies: 4, always_resident: true } });
  t.deepEqual(created.placement, { min_copies: 2, max_copies: 4, always_resident: true });

  const updated = await unary<ModelMessage>(admin, 'UpdateModel', { name: 'm', placement: { min_copies: 3 }, update_mask: ['placement.min_copies'] });
  t.deepEqual(updated.placement, { min_copies: 3, max_copies: 4, always_resident: true }, 'only the masked field changes');
  const whole = await unary<ModelMessage>(admin, 'UpdateModel', { name: 'm', placement: { min_copies: 0 }, update_mask: ['placement'] });
  t.deepEqual(whole.placement, { min_copies: 0, max_copies: 0, always_resident: false });

  await rejectsWithCode(
    t,
    unary(admin, 'CreateModel', { name: 'bad', placement: { min_copies: 3, max_copies: 2 } }),
    status.INVALID_ARGUMENT,
    /placement.min_copies \(3\) is more than placement.max_copies \(2\)/,
  );
  await rejectsWithCode(t, unary(admin, 'UpdateModel', { name: 'm', placement: { max_copies: 5000 }, update_mask: ['placement.max_copies'] }), status.INVALID_ARGUMENT, /placement.max_copies is 5000/);
  await rejectsWithCode(t, unary(admin, 'UpdateModel', { name: 'm', update_mask: ['placement.copies'] }), status.INVALID_ARGUMENT, /update_mask names 'placement.copies'/);
});

test('CreateVersion refuses a version bigger than every node budget with RESOURCE_EXHAUSTED giving the sizes; unknown budgets refuse nothing', async (t) => {
  const { client } = etcd();
  const { admin, keys } = await startControlPlane(t, client);
  const bytes = linearModel({ weights: Array.from({ length: 2000 }, (_, i) => i / 2000), bias: 0 });
  const uploaded = await upload(admin, bytes);
  await putNode(client, keys, 'unknown', 0);
  const ok = await unary<VersionMessage>(admin, 'CreateVersion', { model: 'm', artifact_sha256: uploaded.sha256 });
  t.is(ok.version, 'v1', 'no budget known: accepted');

  await putNode(client, keys, 'small', 4096);
  await putNode(client, keys, 'smaller', 2048);
  const details = await rejectsWithCode(t, unary(admin, 'CreateVersion', { model: 'm', artifact_sha256: uploaded.sha256 }), status.RESOURCE_EXHAUSTED);
  t.regex(details, /a version of model m cannot be loaded on any node: its artifact is 8\.\d KiB .* the largest node memory budget is 4 KiB, of which placement fills 3\.6 KiB/);

  // The memory record's budget counts too.
  const memory: NodeMemoryRecord = { nodeId: 'small', budgetBytes: 1024 * 1024, usedBytes: 0, rssBytes: 0, loaded: 0, evictions: 0, displaced: [], updatedAt: at };
  await client.put(keys.nodeMemory('small')).value(JSON.stringify(memory));
  await putNode(client, keys, 'small', 0);
  t.is((await unary<VersionMessage>(admin, 'CreateVersion', { model: 'm', artifact_sha256: uploaded.sha256 })).version, 'v2');
});

test('model status lists placements, cluster status node memory, and versions the memory nodes measured', async (t) => {
  const { client } = etcd();
  const { admin, keys, cp } = await startControlPlane(t, client, { placementIntervalMs: 100 });
  const uploaded = await upload(admin, linearModel({ weights: [1, 2], bias: 0 }));
  await unary(admin, 'CreateVersion', { model: 'm', artifact_sha256: uploaded.sha256 });
  await putNode(client, keys, 'n1', 64 * 1024 * 1024);
  const memory: NodeMemoryRecord = { nodeId: 'n1', budgetBytes: 64 * 1024 * 1024, usedBytes: 5000, rssBytes: 90_000_000, loaded: 1, evictions: 3, displaced: [], updatedAt: at };
  await client.put(keys.nodeMemory('n1')).value(JSON.stringify(memory));
  const state: VersionStatusRecord = { nodeId: 'n1', model: 'm', version: 'v1', state: 'READY', error: '', attempts: 1, updatedAt: at, memoryBytes: 5000 };
  await client.put(keys.status('n1', 'm', 'v1')).value(JSON.stringify(state));
  await unary(admin, 'SetRoute', { model: 'm', splits: [{ version: 'v1', weight: 10_000 }] });
  await waitFor(() => cp.isLeader, { message: 'the control plane leads' });

  let model: ModelStatusMessage | undefined;
  await waitFor(
    async () => {
      model = await unary<ModelStatusMessage>(admin, 'GetModelStatus', { model: 'm' });
      return model.placements?.[0]?.copies.length === 1;
    },
    { message: 'the placer placed v1' },
  );
  t.like(model!.placements![0], { version: 'v1', wanted_copies: 1, estimated_bytes: '5000', reason: '' });
  t.is(model!.placements![0]!.copies[0]!.node_id, 'n1');
  t.is(model!.nodes[0]!.versions[0]!.memory_bytes, '5000');

  const cluster = await unary<ClusterStatusMessage>(admin, 'GetClusterStatus', {});
  t.like(cluster.nodes[0]!.node, { node_id: 'n1', memory_budget_bytes: String(64 * 1024 * 1024), memory_used_bytes: '5000', memory_rss_bytes: '90000000', loaded_versions: 1, evictions: '3' });

  t.is((await unary<VersionMessage>(admin, 'GetVersion', { model: 'm', version: 'v1' })).memory_bytes, '5000');
  const listed = await unary<{ versions: VersionMessage[] }>(admin, 'ListVersions', { model: 'm' });
  t.is(listed.versions[0]!.memory_bytes, '5000');
});
