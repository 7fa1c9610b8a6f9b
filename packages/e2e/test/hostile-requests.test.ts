// A node must survive any request (issue #14): a run whose cost or memory the
// request chooses is stopped at its limit, and the rest of the node serves on.
import * as grpc from '@grpc/grpc-js';
import anyTest, { type TestFn } from 'ava';
import { INFERENCE_HEALTH_SERVICE } from '@switchyard/client';
import { decodeRaw } from '@switchyard/core';
import { allocationModel, linearModel, loopCountModel, slowLoadModel, waitFor } from '@switchyard/testkit';
import { service as healthService } from 'grpc-health-check';
import { TestCluster } from './helpers/cluster.js';

const RUN_TIMEOUT_MS = 1500;

const test = anyTest.serial as TestFn<{ cluster: TestCluster }>;

test.before(async (t) => {
  t.timeout(120_000);
  const cluster = await TestCluster.start({
    nodes: 1,
    nodeOptions: { runTimeoutMs: RUN_TIMEOUT_MS, runMemoryLimitBytes: 2 * 1024 * 1024 * 1024, metricsListen: '127.0.0.1:0' },
  });
  t.context = { cluster };
  await cluster.deploy('loop', loopCountModel());
  await cluster.deploy('alloc', allocationModel());
  await cluster.deploy('linear', linearModel({ weights: [1, 2, 3], bias: 0.5 }));
});

test.after.always(async (t) => {
  await t.context.cluster?.stop();
});

function healthCheck(address: string): Promise<string> {
  const HealthClient = grpc.makeGenericClientConstructor(healthService as unknown as grpc.ServiceDefinition, 'Health');
  const client = new HealthClient(address, grpc.credentials.createInsecure()) as unknown as grpc.Client & { Check: Function };
  return new Promise<string>((resolve, reject) =>
    client.Check({ service: INFERENCE_HEALTH_SERVICE }, { deadline: Date.now() + 10_000 }, (e: Error | null, r: { status: string }) =>
      e ? reject(e) : resolve(r.status),
    ),
  ).finally(() => client.close());
}

const linear = (cluster: TestCluster) =>
  cluster.infer(0, 'linear', [{ name: 'x', datatype: 'FP32', shape: [1, 3], data: Float32Array.from([1, 1, 1]) }]);
const loop = (cluster: TestCluster, count: bigint, deadlineMs = 60_000) =>
  cluster.infer(0, 'loop', [{ name: 'count', datatype: 'INT64', shape: [1], data: BigInt64Array.from([count]) }], { deadlineMs });

test('a request whose loop count never ends fails with DEADLINE_EXCEEDED at the run time-out; the node and its other models serve on', async (t) => {
  t.timeout(90_000);
  const { cluster } = t.context;
  const node = cluster.nodes[0]!;
  t.is(node.table.versions.get('loop/v1')!.session.host, 'process');
  t.is(node.table.versions.get('linear/v1')!.session.host, 'inline');
  // A small count still computes the right thing.
  t.deepEqual(Array.from(decodeRaw('FP32', (await loop(cluster, 1000n)).raw_output_contents[0]!) as Float32Array), [1000]);

  const hostile = loop(cluster, 1_000_000_000_000n);
  let hostileDone = false;
  void hostile.catch(() => undefined).finally(() => (hostileDone = true));
  // While it runs: the other model and health answer.
  let answered = 0;
  while (!hostileDone) {
    t.is(outputOf(await linear(cluster)), 6.5);
    t.is(await healthCheck(node.address), 'SERVING');
    answered++;
    await new Promise((r) => setTimeout(r, 50));
  }
  const err = await t.throwsAsync(hostile);
  t.is((err as grpc.ServiceError).code, grpc.status.DEADLINE_EXCEEDED);
  t.regex((err as grpc.ServiceError).details, /did not finish within 1500 ms/);
  t.true(answered > 0);
  t.log(`${answered} other calls answered while the hostile run was going; it failed with: ${(err as grpc.ServiceError).details}`);

  // Its process was replaced: the model answers the next request.
  t.deepEqual(Array.from(decodeRaw('FP32', (await loop(cluster, 10n)).raw_output_contents[0]!) as Float32Array), [10]);
  const metrics = await (await fetch(`http://${node.metricsAddress}/metrics`)).text();
  t.regex(metrics, /switchyard_run_processes_lost_total\{model="loop",version="v1",node="node-1"\} 1/);
});

test("the caller's deadline ends the run: nothing computes for a caller who has gone", async (t) => {
  t.timeout(60_000);
  const { cluster } = t.context;
  const node = cluster.nodes[0]!;
  const lostBefore = await processesLost(node.metricsAddress!);
  const err = await t.throwsAsync(loop(cluster, 1_000_000_000_000n, 300));
  t.is((err as grpc.ServiceError).code, grpc.status.DEADLINE_EXCEEDED);
  // The run is stopped at the caller's deadline, well before the 1.5 s time-out would have.
  await waitFor(async () => (await processesLost(node.metricsAddress!)) === lostBefore + 1, { timeoutMs: 20_000, message: 'the run stopped' });
  t.deepEqual(Array.from(decodeRaw('FP32', (await loop(cluster, 3n)).raw_output_contents[0]!) as Float32Array), [3]);
});

test('an output size chosen by the request is refused or fails in its own process; the node does not grow', async (t) => {
  t.timeout(60_000);
  const { cluster } = t.context;
  const node = cluster.nodes[0]!;
  const rssBefore = process.memoryUsage().rss;
  const alloc = (a: number, b: number) =>
    cluster.infer(0, 'alloc', [{ name: 'shape', datatype: 'INT64', shape: [2], data: BigInt64Array.from([BigInt(a), BigInt(b)]) }], { deadlineMs: 30_000 });
  // 128 MiB: more than a response may carry (64 MiB).
  const tooBig = await t.throwsAsync(alloc(8192, 4096));
  t.is((tooBig as grpc.ServiceError).code, grpc.status.RESOURCE_EXHAUSTED);
  // 16 GiB: past the process's 2 GiB address space.
  const huge = await t.throwsAsync(alloc(65536, 65536));
  t.not((huge as grpc.ServiceError).code, grpc.status.OK);
  t.log(`128 MiB output: ${(tooBig as grpc.ServiceError).details}; 16 GiB output: ${(huge as grpc.ServiceError).details}`);
  const grewMb = (process.memoryUsage().rss - rssBefore) / 2 ** 20;
  t.log(`the test process (which hosts the node) grew by ${grewMb.toFixed(0)} MB`);
  t.true(grewMb < 512);
  // Small outputs still work, and the node serves on.
  t.is((await alloc(2, 3)).outputs[0]!.shape.map(Number).join('x'), '2x3');
  t.is(outputOf(await linear(cluster)), 6.5);
  t.is(await healthCheck(node.address), 'SERVING');
});

test('a model whose session creation is slow loads off the main thread: health and other models answer while it loads', async (t) => {
  t.timeout(120_000);
  const { cluster } = t.context;
  const node = cluster.nodes[0]!;
  // ≈ 3 s of constant folding on the dev box (100 products of 1024×1024 constants), from 670 bytes.
  const version = await cluster.createVersion('slowload', slowLoadModel({ n: 1024, depth: 100 }));
  await cluster.setRoute('slowload', { [version]: 10_000 });
  let answered = 0;
  const loadStarted = Date.now();
  while (!node.table.versions.has(`slowload/${version}`)) {
    t.is(outputOf(await linear(cluster)), 6.5);
    t.is(await healthCheck(node.address), 'SERVING');
    answered++;
    t.true(Date.now() - loadStarted < 100_000, 'the load ends');
    await new Promise((r) => setTimeout(r, 50));
  }
  t.log(`${answered} linear + health answers while the version loaded (${Date.now() - loadStarted} ms); hosted: ${node.table.versions.get(`slowload/${version}`)!.session.host}`);
  // On the main thread the node would have answered nothing until the load was over.
  t.true(answered >= 5);
  const y = outputOf(await cluster.infer(0, 'slowload', [{ name: 'x', datatype: 'FP32', shape: [1], data: Float32Array.from([1]) }]));
  t.true(y > 1);
});

test('stop() stops a node whose hostile run is still going', async (t) => {
  t.timeout(60_000);
  const cluster = await TestCluster.start({ nodes: 1, etcd: t.context.cluster.etcd, nodeOptions: { runTimeoutMs: 600_000 } });
  try {
    await cluster.deploy('loop', loopCountModel());
    const hostile = loop(cluster, 1_000_000_000_000n).catch((err: grpc.ServiceError) => err.code);
    await new Promise((r) => setTimeout(r, 500));
    await cluster.stopNode(0);
    t.is(cluster.nodes[0]!.state, 'STOPPED');
    t.not(await hostile, grpc.status.OK);
  } finally {
    await cluster.stop();
  }
});

function outputOf(response: { raw_output_contents: Uint8Array[] }): number {
  return (decodeRaw('FP32', response.raw_output_contents[0]!) as Float32Array)[0]!;
}

async function processesLost(metricsAddress: string): Promise<number> {
  const text = await (await fetch(`http://${metricsAddress}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith('switchyard_run_processes_lost_total{model="loop"'));
  return line ? Number(line.split(' ').pop()) : 0;
}
