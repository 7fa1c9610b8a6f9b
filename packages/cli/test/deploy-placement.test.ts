import anyTest, { type TestFn } from 'ava';
import type { NodeRecord, VersionStatusRecord } from '@switchyard/core';
import { linearModel } from '@switchyard/testkit';
import { cli, useCliCluster, type CliContext } from './helpers/cli-fixture.js';

// deploy and status with placement (issue #16), against a real control plane
// and etcd; the node records are written as nodes with budgets would write
// them (the node side publishes budgets on its own branch).
const test = anyTest as TestFn<CliContext>;
const model = linearModel({ weights: Array.from({ length: 64 }, (_, i) => i / 64), bias: 0 });

// The placer's own defaults (one copy per version), not the every-node setting other CLI tests use.
useCliCluster(test, { nodes: 0, files: { 'linear.onnx': model }, placeEverywhere: false });

async function putNode(t: { context: CliContext }, id: string, budgetBytes: number): Promise<void> {
  const { client, keys } = t.context.cluster;
  const record: NodeRecord = { id, address: '127.0.0.1:1', metricsAddress: '', buildVersion: 'test', startedAt: new Date().toISOString(), memoryBudgetBytes: budgetBytes, draining: false, httpAddress: '' };
  await client.put(keys.node(id)).value(JSON.stringify(record));
}

test.serial('a deploy that cannot be placed says why and exits 1; one that fits waits for the placed node only', async (t) => {
  // Usable: 90 % of 700 bytes, more than the artifact, less than its estimate (1.5 × its size, and at least 1 MiB).
  t.true(model.byteLength < 630 && model.byteLength * 1.5 > 630, `artifact of ${model.byteLength} bytes`);
  await putNode(t, 'tiny', 700);
  const refused = await cli(t, 'deploy', 'linear', 'linear.onnx', '--timeout', '20s');
  t.is(refused.code, 1, refused.stderr);
  t.regex(refused.stderr, /linear:v1 cannot be placed: 0 of 1 wanted copy placed: one copy needs [\d.]+ (bytes|KiB|MiB), more than any node may hold \(the largest: 630 bytes\)/);

  const status = await cli(t, 'status', 'linear');
  t.regex(status.stdout, /placement \(docs\/placement\.md\):/);
  t.regex(status.stdout, /v1 .*│ none \(loads on its next request\) /);

  // A node with room, already READY with the next version (as a node would report it): deploy waits for it alone.
  await putNode(t, 'big', 64 * 1024 * 1024);
  const { client, keys } = t.context.cluster;
  const ready: VersionStatusRecord = { nodeId: 'big', model: 'linear', version: 'v2', state: 'READY', error: '', attempts: 1, loadMs: 5, updatedAt: new Date().toISOString(), memoryBytes: 4096 };
  await client.put(keys.status('big', 'linear', 'v2')).value(JSON.stringify(ready));
  const deployed = await cli(t, 'deploy', 'linear', 'linear.onnx', '--timeout', '20s');
  t.is(deployed.code, 0, deployed.stderr);
  t.regex(deployed.stdout, /deployed linear:v2 .*READY on 1\/1 nodes/);

  const cluster = await cli(t, 'status');
  t.regex(cluster.stdout, /big .*│ 0 B of 64\.0 MiB │/);
  const version = await cli(t, 'versions', 'get', 'linear', 'v2');
  t.regex(version.stdout, /memory: +4\.0 KiB per loaded copy/);
});

test.serial('a version bigger than every node budget is refused at deploy with the sizes (RESOURCE_EXHAUSTED, exit 1)', async (t) => {
  await putNode(t, 'big', 256);
  await putNode(t, 'tiny', 128);
  const refused = await cli(t, 'deploy', 'other', 'linear.onnx');
  t.is(refused.code, 1, refused.stderr);
  t.regex(refused.stderr, /a version of model other cannot be loaded on any node: its artifact is \d+ bytes .* the largest node memory budget is 256 bytes/);
});
