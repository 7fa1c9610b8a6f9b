import test from 'ava';
import { linearModel, waitFor } from '@switchyard/testkit';
import { TestCluster } from './helpers/cluster.js';

test('emptying a route unloads its versions on running nodes, and requests for it are refused', async (t) => {
  t.timeout(90_000);
  const cluster = await TestCluster.start({ nodes: 2 });
  t.teardown(() => cluster.stop());
  const version = await cluster.deploy('m', linearModel({ weights: [1, 2, 3], bias: 0 }));
  const x = { name: 'x', datatype: 'FP32' as const, shape: [1, 3], data: Float32Array.of(1, 2, 3) };
  await cluster.infer(0, 'm', [x]);

  // What `switchyard route set m --empty` sends.
  await cluster.admin.setRoute({ model: 'm', splits: [] });
  await waitFor(() => cluster.nodes.every((n) => !n.table.versions.has(`m/${version}`)), {
    timeoutMs: 20_000,
    message: `m:${version} unloaded on every node`,
  });
  // Its status key goes with it, and nothing answers for the model any more.
  await waitFor(async () => (await cluster.status(cluster.nodes[0]!.id, 'm', version)) === undefined, { timeoutMs: 10_000, message: 'status cleared' });
  await t.throwsAsync(cluster.infer(0, 'm', [x]));
});
