import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'ava';
import { sha256Hex } from '@switchyard/core';
import { corruptModelBytes, expectedLinear, linearModel, startEtcd, waitFor, type EtcdProcess } from '@switchyard/testkit';
import { continuousLoad } from './helpers/continuous-load.js';
import { TestCluster, outputValues } from './helpers/cluster.js';
import { TcpProxy } from './helpers/tcp-proxy.js';

// Each test gets its own cluster (and key prefix) on one shared etcd, except
// those that stop etcd, which start their own.
let etcd: EtcdProcess;
test.before(async () => {
  etcd = await startEtcd();
});
test.after.always(async () => {
  await etcd?.destroy();
});

const W1 = [1, 2, 3];
const W2 = [3, 2, 1];
const row = [[1, 0, 2]];
const x = { name: 'x', datatype: 'FP32' as const, shape: [1, 3], data: Float32Array.from(row.flat()) };

test.serial('an artifact damaged in the store: FAILED with the reason, the old version keeps serving', async (t) => {
  const cluster = await TestCluster.start({ etcd, nodes: 2 });
  t.teardown(() => cluster.stop());
  const v1 = await cluster.deploy('m', linearModel({ weights: W1, bias: 0 }));
  const v2Bytes = linearModel({ weights: W2, bias: 0 });
  const v2 = await cluster.createVersion('m', v2Bytes);
  await writeFile(join(cluster.dir, 'control-plane', 'artifacts', 'sha256', sha256Hex(v2Bytes)), Buffer.from('not the model'));
  await cluster.setRoute('m', { [v2]: 10_000 });
  for (const node of cluster.nodes) {
    await waitFor(async () => (await cluster.status(node.id, 'm', v2))?.state === 'FAILED', { message: `${node.id} reports FAILED` });
    t.regex((await cluster.status(node.id, 'm', v2))!.error, /sha256 mismatch/);
  }
  for (let i = 0; i < 2; i++) {
    const res = await cluster.infer(i, 'm', [x]);
    t.is(res.model_version, v1);
    t.deepEqual(outputValues(res, 'y'), expectedLinear(W1, 0, row));
  }
});

test.serial('bytes onnxruntime cannot load, and a missing artifact: FAILED with the reason, retried, old version serves', async (t) => {
  const cluster = await TestCluster.start({ etcd, nodes: 1 });
  t.teardown(() => cluster.stop());
  const v1 = await cluster.deploy('m', linearModel({ weights: W1, bias: 0 }));
  // The admin API refuses such versions, so write their records by hand, as an operator with etcdctl might.
  const good = JSON.parse((await cluster.client.get(cluster.keys.version('m', v1)).string())!);
  const bad = corruptModelBytes();
  const { sha256 } = await cluster.upload(bad);
  await cluster.client.put(cluster.keys.version('m', 'bad')).value(JSON.stringify({ ...good, version: 'bad', artifact: { sha256, size: bad.byteLength } }));
  await cluster.client.put(cluster.keys.version('m', 'gone')).value(JSON.stringify({ ...good, version: 'gone', artifact: { sha256: 'ab'.repeat(32), size: 10 } }));
  await cluster.setRoute('m', { bad: 5_000, gone: 5_000 });
  const node = cluster.nodes[0]!;
  await waitFor(async () => (await cluster.status(node.id, 'm', 'bad'))?.state === 'FAILED' && (await cluster.status(node.id, 'm', 'gone'))?.state === 'FAILED');
  t.regex((await cluster.status(node.id, 'm', 'bad'))!.error, /onnxruntime cannot load/);
  t.regex((await cluster.status(node.id, 'm', 'gone'))!.error, /NOT_FOUND|not found/i);
  await waitFor(async () => ((await cluster.status(node.id, 'm', 'bad')) as { attempts?: number } | undefined)?.attempts! >= 2, {
    message: 'load retried',
  });
  t.is((await cluster.infer(0, 'm', [x])).model_version, v1);
});

test.serial('a value that fails its schema is logged and ignored; other models keep reconciling', async (t) => {
  const cluster = await TestCluster.start({ etcd, nodes: 1 });
  t.teardown(() => cluster.stop());
  const v1 = await cluster.deploy('a', linearModel({ weights: W1, bias: 0 }));
  await cluster.client.put(cluster.keys.route('a')).value('{"model":"a","splits":[{"version":"v1","weight":12}]');
  await cluster.client.put(cluster.keys.route('junk')).value('not json');
  await cluster.client.put(cluster.keys.version('junk', 'v1')).value('{"model":"junk"}');
  await cluster.deploy('b', linearModel({ weights: W2, bias: 0 }));
  t.is((await cluster.infer(0, 'a', [x])).model_version, v1);
  t.deepEqual(outputValues(await cluster.infer(0, 'b', [x]), 'y'), expectedLinear(W2, 0, row));
});

test.serial('etcd stopped under load: every request succeeds; after restart a change converges on every node', async (t) => {
  const ownEtcd = await startEtcd();
  const cluster = await TestCluster.start({ etcd: ownEtcd, nodes: 2 });
  t.teardown(async () => {
    await cluster.stop();
    await ownEtcd.destroy();
  });
  const v1 = await cluster.deploy('m', linearModel({ weights: W1, bias: 0 }));
  const v2 = await cluster.createVersion('m', linearModel({ weights: W2, bias: 0 }));
  const load = continuousLoad(cluster, 'm', [x]);
  await new Promise((r) => setTimeout(r, 300));
  await ownEtcd.stop();
  await new Promise((r) => setTimeout(r, 3000));
  await ownEtcd.start();
  const started = Date.now();
  await waitFor(async () => {
    try {
      await cluster.setRoute('m', { [v2]: 10_000 });
      return true;
    } catch {
      return false;
    }
  }, { timeoutMs: 20_000, intervalMs: 200, message: 'route change accepted after etcd restart' });
  await cluster.waitServing('m', v2, 20_000);
  const stats = await load.stop();
  t.log(`requests ok ${stats.ok}, failed ${stats.failed.length}, converged ${Date.now() - started} ms after etcd restart`);
  t.deepEqual(stats.failed, []);
  t.true(stats.ok > 100);
  await waitFor(() => cluster.nodes.every((n) => !n.table.versions.has(`m/${v1}`)), { message: 'v1 unloaded' });
});

test.serial('changes and deletions made while etcd was down are applied after it returns', async (t) => {
  const ownEtcd = await startEtcd();
  const cluster = await TestCluster.start({ etcd: ownEtcd, nodes: 1 });
  t.teardown(async () => {
    await cluster.stop();
    await ownEtcd.destroy();
  });
  await cluster.deploy('keep', linearModel({ weights: W1, bias: 0 }));
  await cluster.deploy('drop', linearModel({ weights: W2, bias: 0 }));
  // Cut the node off etcd (etcd stays up), change and delete, then reconnect.
  await cluster.stopNode(0);
  await cluster.client.delete().key(cluster.keys.route('drop'));
  const v2 = await cluster.createVersion('keep', linearModel({ weights: W2, bias: 1 }));
  await cluster.setRoute('keep', { [v2]: 10_000 });
  await cluster.addNode(0);
  await cluster.nodes[0]!.ready();
  await cluster.waitServing('keep', v2);
  t.false(cluster.nodes[0]!.table.routes.has('drop'));
  t.deepEqual(outputValues(await cluster.infer(0, 'keep', [x]), 'y'), expectedLinear(W2, 1, row));
});

test.serial('compaction past a node\'s watch revision: the node re-reads and converges, deletions included', async (t) => {
  const proxy = await TcpProxy.start(etcd.clientPort);
  const cluster = await TestCluster.start({ etcd, nodes: 1, nodeEtcdEndpoint: proxy.endpoint });
  t.teardown(async () => {
    await cluster.stop();
    await proxy.close();
  });
  await cluster.deploy('keep', linearModel({ weights: W1, bias: 0 }));
  await cluster.deploy('drop', linearModel({ weights: W2, bias: 0 }));
  proxy.pause();
  await cluster.client.delete().key(cluster.keys.route('drop'));
  const v2 = await cluster.createVersion('keep', linearModel({ weights: W2, bias: 1 }));
  await cluster.setRoute('keep', { [v2]: 10_000 });
  const { header } = await cluster.client.get(cluster.keys.route('keep')).exec();
  await cluster.client.kv.compact({ revision: header.revision, physical: true } as never);
  // While cut off, the node serves what it had.
  t.is((await cluster.infer(0, 'keep', [x])).model_version, 'v1');
  proxy.resume();
  await cluster.waitServing('keep', v2, 20_000);
  await waitFor(() => !cluster.nodes[0]!.table.routes.has('drop'), { message: 'deleted route dropped' });
  t.pass();
});
