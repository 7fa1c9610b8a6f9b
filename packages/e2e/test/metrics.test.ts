import test from 'ava';
import { linearModel, startEtcd, type EtcdProcess } from '@switchyard/testkit';
import { TestCluster } from './helpers/cluster.js';

let etcd: EtcdProcess;
let cluster: TestCluster;

test.before(async () => {
  etcd = await startEtcd();
  cluster = await TestCluster.start({ etcd, nodes: 1, nodeOptions: { metricsListen: '127.0.0.1:0' } });
});
test.after.always(async () => {
  await cluster?.stop();
  await etcd?.destroy();
});

/** The value of the sample of `name` whose labels include `labels` (in any order). */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) return Number(line.split(' ').pop());
  }
  return undefined;
}

test('/metrics counts requests, errors and latency by model and version, loaded versions and load time', async (t) => {
  await cluster.deploy('lin', linearModel({ weights: [1, 2, 3], bias: 0 }));
  const x = { name: 'x', datatype: 'FP32' as const, shape: [1, 3], data: Float32Array.from([1, 1, 1]) };
  for (let i = 0; i < 3; i++) await cluster.infer(0, 'lin', [x]);
  await t.throwsAsync(cluster.infer(0, 'lin', [{ ...x, shape: [1, 4], data: new Float32Array(4) }]));
  const node = cluster.nodes[0]!;
  t.truthy(node.metricsAddress);
  const text = await (await fetch(`http://${node.metricsAddress}/metrics`)).text();
  t.is(sample(text, 'switchyard_requests_total', { model: 'lin', version: 'v1', node: 'node-1' }), 3);
  t.is(sample(text, 'switchyard_request_errors_total', { model: 'lin', version: 'v1', code: '3' }), 1);
  t.is(sample(text, 'switchyard_request_duration_seconds_count', { model: 'lin', version: 'v1' }), 3);
  t.is(sample(text, 'switchyard_loaded_versions', { node: 'node-1' }), 1);
  t.is(sample(text, 'switchyard_version_load_seconds_count', { node: 'node-1' }), 1);
  t.is(sample(text, 'switchyard_node_requests_total', { node: 'node-1' }), 3);
  t.is(sample(text, 'switchyard_node_request_duration_seconds_count', { node: 'node-1' }), 3);
  t.is(sample(text, 'switchyard_version_series_omitted', { node: 'node-1' }), 0);
  t.is((await fetch(`http://${node.metricsAddress}/other`)).status, 404);
});
