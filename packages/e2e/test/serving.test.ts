import test from 'ava';
import * as grpc from '@grpc/grpc-js';
import { expectedLinear, int64Model, linearModel, startEtcd, twoOutputModel, waitFor, type EtcdProcess } from '@switchyard/testkit';
import { TestCluster, outputValues } from './helpers/cluster.js';

let etcd: EtcdProcess;
let cluster: TestCluster;
const W1 = [1, 2, 3];
const W2 = [-1, 0.5, 4];

test.before(async () => {
  etcd = await startEtcd();
  cluster = await TestCluster.start({ etcd, nodes: 2 });
});
test.after.always(async () => {
  await cluster?.stop();
  await etcd?.destroy();
});

const x = (rows: number[][]) => ({ name: 'x', datatype: 'FP32' as const, shape: [rows.length, rows[0]!.length], data: Float32Array.from(rows.flat()) });

test.serial('deploy: every node READY, ModelInfer answers correctly on each', async (t) => {
  const version = await cluster.deploy('linear', linearModel({ weights: W1, bias: 0.5 }));
  t.is(version, 'v1');
  for (const node of cluster.nodes) t.is((await cluster.status(node.id, 'linear', version))?.state, 'READY');
  const rows = [[1, 1, 1], [0.5, -2, 4]];
  for (let i = 0; i < cluster.nodes.length; i++) {
    const res = await cluster.infer(i, 'linear', [x(rows)]);
    t.is(res.model_version, 'v1');
    t.deepEqual(res.outputs[0]?.shape.map(Number), [2, 1]);
    t.deepEqual(outputValues(res, 'y'), expectedLinear(W1, 0.5, rows));
  }
});

test.serial('INT64 model through raw contents and through typed contents', async (t) => {
  await cluster.deploy('ids', int64Model({ scale: 2, offset: 1 }));
  const raw = await cluster.infer(0, 'ids', [{ name: 'ids', datatype: 'INT64', shape: [1, 4], data: BigInt64Array.from([1n, 2n, 3n, 2n ** 40n]) }]);
  t.deepEqual(outputValues(raw, 'out'), [3, 5, 7, 2 ** 41 + 1]);
  const typed = await new Promise<{ outputs: { name: string }[]; raw_output_contents: Buffer[] }>((resolve, reject) =>
    (cluster.nodeClients[1] as unknown as { ModelInfer: Function }).ModelInfer(
      { model_name: 'ids', inputs: [{ name: 'ids', datatype: 'INT64', shape: [1, 4], contents: { int64_contents: ['4', '5', '6', '7'] } }] },
      (err: Error | null, res: never) => (err ? reject(err) : resolve(res)),
    ),
  );
  t.deepEqual(Array.from(new BigInt64Array(new Uint8Array(typed.raw_output_contents[0]!).buffer), Number), [9, 11, 13, 15]);
});

test.serial('two-output model returns both, or only the requested one', async (t) => {
  await cluster.deploy('two', twoOutputModel());
  const res = await cluster.infer(0, 'two', [{ name: 'x', datatype: 'FP32', shape: [2, 2], data: Float32Array.from([1, 2, 3, 4]) }]);
  t.deepEqual(res.outputs.map((o) => o.name).sort(), ['doubled', 'sum']);
  t.deepEqual(outputValues(res, 'sum'), [3, 7]);
  t.deepEqual(outputValues(res, 'doubled'), [2, 4, 6, 8]);
});

test.serial('route switch under continuous load: zero failed requests, then the old version is unloaded', async (t) => {
  const model = 'switch';
  const v1 = await cluster.deploy(model, linearModel({ weights: W1, bias: 0 }));
  const v2 = await cluster.createVersion(model, linearModel({ weights: W2, bias: 0 }));
  let stop = false;
  let ok = 0;
  const failures: string[] = [];
  const answered = new Set<string>();
  const load = Promise.all(
    [0, 1, 0, 1].map(async (node) => {
      while (!stop) {
        try {
          const res = await cluster.infer(node, model, [x([[1, 1, 1]])]);
          const expected = res.model_version === v1 ? expectedLinear(W1, 0, [[1, 1, 1]]) : expectedLinear(W2, 0, [[1, 1, 1]]);
          if (outputValues(res, 'y')[0] !== expected[0]) failures.push(`wrong answer from ${res.model_version}`);
          answered.add(res.model_version);
          ok++;
        } catch (err) {
          failures.push((err as Error).message);
        }
      }
    }),
  );
  await new Promise((r) => setTimeout(r, 200));
  await cluster.setRoute(model, { [v2]: 10_000 });
  await cluster.waitServing(model, v2);
  await new Promise((r) => setTimeout(r, 200));
  stop = true;
  await load;
  t.deepEqual(failures, []);
  t.true(ok > 50, `only ${ok} requests were sent`);
  t.deepEqual([...answered].sort(), [v1, v2]);
  await waitFor(() => cluster.nodes.every((n) => !n.table.versions.has(`${model}/${v1}`)), { message: 'v1 unloaded' });
  for (const node of cluster.nodes) t.is(await cluster.status(node.id, model, v1), undefined);
});

test.serial('explicit model_version is honoured and named in the response', async (t) => {
  const model = 'pinned';
  const v1 = await cluster.createVersion(model, linearModel({ weights: W1, bias: 0 }));
  const v2 = await cluster.createVersion(model, linearModel({ weights: W2, bias: 0 }));
  await cluster.setRoute(model, { [v1]: 10_000, [v2]: 0 });
  await waitFor(() => cluster.nodes.every((n) => n.table.versions.has(`${model}/${v2}`) && n.table.versions.has(`${model}/${v1}`)));
  for (let i = 0; i < 5; i++) t.is((await cluster.infer(0, model, [x([[1, 1, 1]])])).model_version, v1);
  const res = await cluster.infer(1, model, [x([[1, 1, 1]])], { version: v2 });
  t.is(res.model_version, v2);
  t.deepEqual(outputValues(res, 'y'), expectedLinear(W2, 0, [[1, 1, 1]]));
});

test.serial('a deleted version is unloaded on every node', async (t) => {
  const model = 'deleted';
  const v1 = await cluster.deploy(model, linearModel({ weights: W1, bias: 0 }));
  const v2 = await cluster.createVersion(model, linearModel({ weights: W2, bias: 0 }));
  await cluster.setRoute(model, { [v1]: 5_000, [v2]: 5_000 });
  await waitFor(() => cluster.nodes.every((n) => n.table.versions.has(`${model}/${v2}`)));
  await cluster.setRoute(model, { [v1]: 10_000 });
  await cluster.adminCall('DeleteVersion', { model, version: v2 });
  await waitFor(() => cluster.nodes.every((n) => !n.table.versions.has(`${model}/${v2}`)), { message: 'v2 unloaded everywhere' });
  const err = await t.throwsAsync(cluster.infer(0, model, [x([[1, 1, 1]])], { version: v2 }));
  t.is((err as grpc.ServiceError).code, grpc.status.NOT_FOUND);
});

test.serial('ServerMetadata names the node and its build; readiness calls answer', async (t) => {
  const { unary } = await import('./helpers/grpc-call.js');
  const meta = await unary<{ name: string; version: string }>(cluster.nodeClients[0]!, 'ServerMetadata', {});
  t.is(meta.name, 'node-1');
  t.regex(meta.version, /^\d+\.\d+\.\d+/);
  t.true((await unary<{ ready: boolean }>(cluster.nodeClients[0]!, 'ServerReady', {})).ready);
  t.true((await unary<{ ready: boolean }>(cluster.nodeClients[0]!, 'ModelReady', { name: 'linear' })).ready);
  t.false((await unary<{ ready: boolean }>(cluster.nodeClients[0]!, 'ModelReady', { name: 'nope' })).ready);
  const md = await unary<{ inputs: { name: string; datatype: string; shape: string[] }[] }>(cluster.nodeClients[0]!, 'ModelMetadata', { name: 'linear' });
  t.deepEqual(md.inputs.map((i) => [i.name, i.datatype, i.shape.map(Number)]), [['x', 'FP32', [-1, 3]]]);
});
