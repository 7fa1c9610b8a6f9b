// Slow models run in worker threads, so a long inference cannot starve
// health checks; fast ones stay on the main thread (issue #8).
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import anyTest, { type TestFn } from 'ava';
import ort from 'onnxruntime-node';
import { INFERENCE_HEALTH_SERVICE } from '@switchyard/client';
import { decodeRaw, type ModelInferResponse } from '@switchyard/core';
import { createEtcdClient } from '@switchyard/core/etcd';
import { silentLogger } from '@switchyard/core/logging';
import { liveSessionThreads, PredictionNode, WorkerSession } from '@switchyard/prediction-node';
import { GATHER_TABLE, gatherModel, SLOW_MODEL_WIDTH, slowModel, waitFor } from '@switchyard/testkit';
import { service as healthService } from 'grpc-health-check';
import type { Etcd3 } from 'etcd3';
import { TestCluster } from './helpers/cluster.js';

/** ≈ 0.5 s per run on an idle 2-core dev box (0.3 ms per iteration), more under load. */
const SLOW_ITERATIONS = 1700;
const SLOW_BYTES = slowModel({ iterations: SLOW_ITERATIONS });
const X = Float32Array.from({ length: SLOW_MODEL_WIDTH }, (_, i) => (i + 1) / 8);

interface Context {
  cluster: TestCluster;
  /** Node 0 of the cluster decides per version (auto); this one hosts every version in a worker. */
  workerNode: PredictionNode;
  workerNodeEtcd: Etcd3;
  slowVersion: string;
}

const test = anyTest.serial as TestFn<Context>;

function sessionOf(node: PredictionNode, model: string, version: string) {
  const loaded = node.table.versions.get(`${model}/${version}`);
  if (!loaded) throw new Error(`${model}/${version} not loaded on ${node.id}`);
  return loaded.session;
}

function healthCheck(address: string): { check: () => Promise<string>; close: () => void } {
  const HealthClient = grpc.makeGenericClientConstructor(healthService as unknown as grpc.ServiceDefinition, 'Health');
  const client = new HealthClient(address, grpc.credentials.createInsecure()) as unknown as grpc.Client & { Check: Function };
  return {
    check: () =>
      new Promise((resolve, reject) =>
        client.Check({ service: INFERENCE_HEALTH_SERVICE }, { deadline: Date.now() + 20_000 }, (e: Error | null, r: { status: string }) =>
          e ? reject(e) : resolve(r.status),
        ),
      ),
    close: () => client.close(),
  };
}

function values(response: ModelInferResponse, datatype: 'FP32' = 'FP32'): number[] {
  return Array.from(decodeRaw(datatype, response.raw_output_contents[0]!) as Float32Array);
}

async function inlineRun(bytes: Uint8Array, feeds: Record<string, ort.Tensor>): Promise<number[]> {
  const session = await ort.InferenceSession.create(bytes);
  try {
    const out = await session.run(feeds);
    return Array.from(out[session.outputNames[0]!]!.data as Float32Array);
  } finally {
    await session.release();
  }
}

test.before(async (t) => {
  t.timeout(120_000);
  const cluster = await TestCluster.start({ nodes: 1 });
  const workerNodeEtcd = createEtcdClient({ endpoints: cluster.etcd.endpoint });
  const workerNode = await PredictionNode.create({
    etcd: workerNodeEtcd,
    keys: cluster.keys,
    id: 'node-worker',
    dataDir: join(cluster.dir, 'node-worker'),
    logger: silentLogger(),
    drainGraceMs: 0,
    sessionHosting: 'worker',
  });
  t.context = { cluster, workerNode, workerNodeEtcd, slowVersion: '' };
  t.context.slowVersion = await cluster.deploy('slow', SLOW_BYTES);
  await cluster.deploy('gather', gatherModel());
  await waitFor(() => workerNode.table.routes.has('slow') && workerNode.table.routes.has('gather'), {
    timeoutMs: 60_000,
    message: 'the worker-hosting node serving slow and gather',
  });
});

test.after.always(async (t) => {
  await t.context.workerNode?.stop(1000);
  t.context.workerNodeEtcd?.close();
  await t.context.cluster?.stop();
});

test('auto hosting puts the slow model in a worker thread and keeps the fast one inline', (t) => {
  const { cluster, workerNode, slowVersion } = t.context;
  const node = cluster.nodes[0]!;
  t.is(sessionOf(node, 'slow', slowVersion).host, 'worker');
  t.is(sessionOf(node, 'gather', 'v1').host, 'inline');
  t.is(sessionOf(workerNode, 'gather', 'v1').host, 'worker');
  // slow on both nodes, gather on the worker node.
  t.is(liveSessionThreads(), 3);
});

test('health Check answers while the slow model runs, and results equal an inline session', async (t) => {
  const { cluster } = t.context;
  const node = cluster.nodes[0]!;
  const health = healthCheck(node.address);
  try {
    let inferencesDone = 0;
    const inferences = Promise.all(
      [0, 1].map(() =>
        cluster.infer(0, 'slow', [{ name: 'x', datatype: 'FP32', shape: [1, SLOW_MODEL_WIDTH], data: X }], { deadlineMs: 60_000 }).finally(() => inferencesDone++),
      ),
    );
    const statuses: string[] = [];
    let beforeFirstAnswer = 0;
    // Probe until both inferences have answered; every probe must complete.
    while (inferencesDone < 2) {
      statuses.push(await health.check());
      if (inferencesDone === 0) beforeFirstAnswer++;
      // Paced like a prober, so the test does not take the CPU from the run.
      await new Promise((r) => setTimeout(r, 10));
    }
    const responses = await inferences;
    t.true(statuses.length > 0);
    t.true(statuses.every((s) => s === 'SERVING'));
    t.log(`${statuses.length} health answers while 2 runs of ${SLOW_ITERATIONS} iterations were in flight, ${beforeFirstAnswer} before the first run answered`);
    const expected = await inlineRun(SLOW_BYTES, { x: new ort.Tensor('float32', X, [1, SLOW_MODEL_WIDTH]) });
    for (const response of responses) t.deepEqual(values(response), expected);
    // y[j] = x[(j − iterations) mod 256]: the worker computed the real thing.
    t.is(expected[SLOW_ITERATIONS % SLOW_MODEL_WIDTH], X[0]);
  } finally {
    health.close();
  }
});

test('a worker-hosted session answers like the inline one and surfaces run-time errors as INVALID_ARGUMENT', async (t) => {
  const { cluster, workerNode } = t.context;
  const idx = BigInt64Array.from([3n, -4n, 1n]);
  const inline = await cluster.infer(0, 'gather', [{ name: 'idx', datatype: 'INT64', shape: [3], data: idx }]);
  const Client = cluster.nodeClients[0]!.constructor as new (address: string, credentials: grpc.ChannelCredentials) => grpc.Client;
  const client = new Client(workerNode.address, grpc.credentials.createInsecure());
  try {
    const call = (data: BigInt64Array) =>
      new Promise<ModelInferResponse>((resolve, reject) =>
        (client as unknown as Record<string, Function>)['ModelInfer']!.call(
          client,
          { model_name: 'gather', inputs: [{ name: 'idx', datatype: 'INT64', shape: [data.length] }], raw_input_contents: [Buffer.from(data.buffer)] },
          { deadline: Date.now() + 20_000 },
          (err: grpc.ServiceError | null, res: ModelInferResponse) => (err ? reject(err) : resolve(res)),
        ),
      );
    const worker = await call(idx);
    t.deepEqual(values(worker), values(inline));
    t.deepEqual(values(worker), [...GATHER_TABLE[3]!, ...GATHER_TABLE[0]!, ...GATHER_TABLE[1]!]);
    const err = await t.throwsAsync(call(BigInt64Array.from([10n])));
    t.is((err as grpc.ServiceError).code, grpc.status.INVALID_ARGUMENT);
    t.regex((err as grpc.ServiceError).details, /rejected the input/);
    // The session survives a rejected input.
    t.deepEqual(values(await call(idx)), values(inline));
  } finally {
    client.close();
  }
});

test('a crashed worker thread fails its requests with UNAVAILABLE and is restarted', async (t) => {
  const { cluster, slowVersion } = t.context;
  const node = cluster.nodes[0]!;
  const session = sessionOf(node, 'slow', slowVersion);
  if (!(session instanceof WorkerSession)) return t.fail('slow is not in a worker');
  const first = session.currentThread!;
  const request = () =>
    cluster.infer(0, 'slow', [{ name: 'x', datatype: 'FP32', shape: [1, SLOW_MODEL_WIDTH], data: X }], { deadlineMs: 60_000 }).then(
      (response) => values(response)[SLOW_ITERATIONS % SLOW_MODEL_WIDTH],
      (err: grpc.ServiceError) => err.code,
    );
  // The thread dies as the first of these runs reaches it.
  first.crashForTests();
  const outcomes = await Promise.all([request(), request()]);
  t.log(`outcomes: ${outcomes.join(', ')}`);
  t.true(outcomes.includes(grpc.status.UNAVAILABLE));
  t.true(outcomes.every((o) => o === grpc.status.UNAVAILABLE || o === X[0]));
  await waitFor(() => session.currentThread !== undefined && session.currentThread !== first, { timeoutMs: 60_000, message: 'worker restarted' });
  t.is(await request(), X[0]);
  t.is(liveSessionThreads(), 3);
  const exposition = await node.metrics.registry.metrics();
  t.regex(exposition, new RegExp(`switchyard_worker_thread_crashes_total\\{[^}]*model="slow",version="${slowVersion}"[^}]*\\} 1\\b`));
  t.regex(exposition, /switchyard_worker_hosted_versions\{[^}]*\} 1\b/);
});

test('unloading a worker-hosted version ends its thread; stopping the nodes ends them all', async (t) => {
  const { cluster, workerNode, slowVersion } = t.context;
  const session = sessionOf(cluster.nodes[0]!, 'slow', slowVersion);
  if (!(session instanceof WorkerSession)) return t.fail('slow is not in a worker');
  const thread = session.currentThread!;
  // A fast version of the same model replaces it: inline on the auto node, a worker on the other.
  const fast = await cluster.deploy('slow', slowModel({ iterations: 1 }));
  await waitFor(() => workerNode.table.routes.get('slow')?.entries[0]?.loaded.version === fast, { timeoutMs: 30_000, message: 'worker node on the fast version' });
  await waitFor(() => !thread.alive, { timeoutMs: 30_000, message: 'the unloaded version’s thread ended' });
  t.is(sessionOf(cluster.nodes[0]!, 'slow', fast).host, 'inline');
  // The worker node's old slow thread ends too: gather and the fast version remain.
  await waitFor(() => liveSessionThreads() === 2, { timeoutMs: 30_000, message: `2 session threads left (${liveSessionThreads()})` });
  await workerNode.stop(1000);
  await cluster.stopNode(0);
  t.is(liveSessionThreads(), 0);
});
