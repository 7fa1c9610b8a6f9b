import { connect as netConnect, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import anyTest, { type TestFn } from 'ava';
import type { Etcd3 } from 'etcd3';
import { encodeRaw, GrpcStatus, KeyLayout, SwitchyardError } from '@switchyard/core';
import { createEtcdClient } from '@switchyard/core/etcd';
import { inferenceService } from '@switchyard/core/grpc';
import { silentLogger } from '@switchyard/core/logging';
import { ControlPlane } from '@switchyard/control-plane';
import { PredictionNode, type PredictionNodeOptions } from '@switchyard/prediction-node';
import { expectedLinear, linearModel, makeTempDir, removeDir, startEtcd, waitFor, type EtcdProcess } from '@switchyard/testkit';
import { AdminClient, InferenceClient, type InferenceClientOptions, type InputTensor } from '../src/index.js';

interface Context {
  etcd: EtcdProcess;
  client: Etcd3;
  keys: KeyLayout;
  dir: string;
  controlPlane: ControlPlane;
  admin: AdminClient;
  version: string;
}

const test = anyTest as TestFn<Context>;

const W = [0.5, -1, 2];
const BIAS = 0.25;
const ROWS = [
  [1, 2, 3],
  [0, 0, 1],
];
const X: InputTensor = { name: 'x', datatype: 'FP32', shape: [2, 3], data: Float32Array.from(ROWS.flat()) };

/** Everything a test started, stopped in reverse order whatever happens. */
const cleanups: (() => unknown)[] = [];
let nodeCounter = 0;

test.before(async (t) => {
  const etcd = await startEtcd();
  const client = createEtcdClient({ endpoints: etcd.endpoint });
  const keys = new KeyLayout('/client-inference/');
  const dir = await makeTempDir('switchyard-inference-client-');
  const controlPlane = await ControlPlane.create({ etcd: client, keys, dataDir: join(dir, 'cp'), logger: silentLogger(), auth: { disabled: true } });
  const admin = AdminClient.connect(controlPlane.address);
  const uploaded = await admin.uploadBytes(linearModel({ weights: W, bias: BIAS }), { filename: 'model.onnx' });
  const { version } = await admin.createVersion({ model: 'linear', artifact_sha256: uploaded.sha256 });
  await admin.setRoute({ model: 'linear', splits: [{ version, weight: 10_000 }] });
  t.context = { etcd, client, keys, dir, controlPlane, admin, version };
});

/** Each test's nodes, clients and proxies go when it ends, so the next test's etcd discovery sees only its own. */
test.afterEach.always(async () => {
  for (const c of cleanups.splice(0).reverse()) await Promise.resolve(c()).catch(() => undefined);
});

test.after.always(async (t) => {
  for (const c of cleanups.splice(0).reverse()) await Promise.resolve(c()).catch(() => undefined);
  t.context.admin?.close();
  await t.context.controlPlane?.stop().catch(() => undefined);
  t.context.client?.close();
  await t.context.etcd?.destroy();
  if (t.context.dir) await removeDir(t.context.dir);
});

/** A prediction node in this process, serving `linear`; stopped by test.after unless the test stops it. */
async function startNode(t: { context: Context }, options: Partial<PredictionNodeOptions> = {}): Promise<PredictionNode> {
  const id = `node-${++nodeCounter}`;
  const etcd = createEtcdClient({ endpoints: t.context.etcd.endpoint });
  const node = await PredictionNode.create({
    etcd,
    keys: t.context.keys,
    id,
    dataDir: join(t.context.dir, id),
    logger: silentLogger(),
    leaseTtlSeconds: 5,
    drainGraceMs: 0,
    ...options,
  });
  cleanups.push(async () => {
    await node.stop(500);
    etcd.close();
  });
  await node.ready(20_000);
  return node;
}

async function connect(options: InferenceClientOptions): Promise<InferenceClient> {
  const client = await InferenceClient.create({ healthIntervalMs: 100, ...options });
  cleanups.push(() => client.close());
  return client;
}

/** A loopback proxy that delays every byte coming back from `target` by `delayMs`. */
async function slowProxy(target: string, delayMs: number): Promise<string> {
  const [host, port] = target.split(':') as [string, string];
  const sockets = new Set<Socket>();
  const server: Server = createServer((downstream) => {
    const upstream = netConnect(Number(port), host);
    sockets.add(downstream).add(upstream);
    const drop = (): void => {
      downstream.destroy();
      upstream.destroy();
    };
    downstream.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    downstream.pipe(upstream);
    upstream.on('data', (chunk: Buffer) => setTimeout(() => downstream.write(chunk), delayMs));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  );
  const address = server.address();
  if (typeof address !== 'object' || !address) throw new Error('proxy did not bind');
  return `127.0.0.1:${address.port}`;
}

async function errorCount(nodes: PredictionNode[], model: string): Promise<number> {
  let total = 0;
  for (const n of nodes) for (const v of (await n.metrics.errors.get()).values) if (v.labels.model === model) total += v.value;
  return total;
}

test.serial('infer returns typed outputs with shapes and the answering version; metadata and readiness', async (t) => {
  const node = await startNode(t);
  const client = await connect({ nodes: [node.address] });
  await client.waitForReady();
  const result = await client.infer('linear', [X], { routingKey: 'user-7', id: 'req-1' });
  t.is(result.version, t.context.version);
  t.is(result.id, 'req-1');
  t.is(result.node, node.address);
  t.is(result.attempts, 1);
  const y = result.outputs.y!;
  t.deepEqual(y.shape, [2, 1]);
  t.true(y.data instanceof Float32Array);
  t.deepEqual(Array.from(y.data as Float32Array), expectedLinear(W, BIAS, ROWS));
  t.true(await client.serverReady());
  t.true(await client.modelReady('linear'));
  t.false(await client.modelReady('linear', 'no-such-version'));
  const metadata = await client.modelMetadata('linear');
  t.is(metadata.name, 'linear');
  t.deepEqual(metadata.inputs.map((i) => i.name), ['x']);
  t.truthy((await client.serverMetadata()).name);
});

test.serial('a static list is balanced round robin over the serving nodes', async (t) => {
  const a = await startNode(t);
  const b = await startNode(t);
  const client = await connect({ nodes: [a.address, b.address] });
  await client.waitForReady(2);
  const answered = new Map<string, number>();
  for (let i = 0; i < 20; i++) {
    const r = await client.infer('linear', [X]);
    answered.set(r.node, (answered.get(r.node) ?? 0) + 1);
  }
  t.deepEqual(answered.get(a.address), 10);
  t.deepEqual(answered.get(b.address), 10);
});

test.serial('etcd discovery picks up a node added later and drops one stopped', async (t) => {
  const first = await startNode(t);
  const client = await connect({ etcd: { client: t.context.client, keys: t.context.keys } });
  await waitFor(() => client.nodes.some((n) => n.address === first.address && n.serving), { message: 'first node discovered' });
  const second = await startNode(t);
  await waitFor(() => client.nodes.some((n) => n.address === second.address && n.serving), { message: 'second node discovered' });
  // With etcd the client sends a version to the nodes holding it READY (#16): with no placer here, the
  // node that loaded it on a first call keeps getting its calls, so the new node is checked as
  // discovered and serving, and through a call sent to it alone.
  for (let i = 0; i < 5; i++) t.true([first.address, second.address].includes((await client.infer('linear', [X])).node));
  const direct = await connect({ nodes: [second.address] });
  await direct.waitForReady();
  t.is((await direct.infer('linear', [X])).node, second.address);
  direct.close();
  await second.stop(500);
  await waitFor(() => !client.nodes.some((n) => n.address === second.address), { message: 'stopped node dropped' });
  for (let i = 0; i < 5; i++) t.is((await client.infer('linear', [X])).node, first.address);
});

test.serial('a call to a stopped node is retried on another and succeeds', async (t) => {
  const a = await startNode(t);
  const b = await startNode(t);
  // Health checked rarely, so the client still believes the stopped node serves.
  const client = await connect({ nodes: [a.address, b.address], healthIntervalMs: 60_000 });
  await client.waitForReady(2);
  await a.stop(500);
  const results = await Promise.all(Array.from({ length: 6 }, () => client.infer('linear', [X])));
  t.true(results.every((r) => r.node === b.address));
  t.true(results.some((r) => r.attempts === 2), 'at least one call went to the stopped node first');
});

test.serial('NOT_FOUND and INVALID_ARGUMENT are not retried', async (t) => {
  const a = await startNode(t);
  const b = await startNode(t);
  const client = await connect({ nodes: [a.address, b.address] });
  await client.waitForReady(2);
  // Nodes count requests for models they do not know under one label, 'unknown'.
  const before = await errorCount([a, b], 'unknown');
  const err = await t.throwsAsync(client.infer('no-such-model', [X]), { instanceOf: SwitchyardError });
  t.is(err?.code, GrpcStatus.NOT_FOUND);
  t.is((await errorCount([a, b], 'unknown')) - before, 1, 'exactly one node saw the request');
  const beforeBad = await errorCount([a, b], 'linear');
  const bad = await t.throwsAsync(client.infer('linear', [{ name: 'x', datatype: 'FP32', shape: [1, 2], data: Float32Array.from([1, 2]) }]));
  t.is((bad as SwitchyardError).code, GrpcStatus.INVALID_ARGUMENT);
  t.is((await errorCount([a, b], 'linear')) - beforeBad, 1);
});

test.serial('the deadline bounds every attempt, and the wait for a serving node', async (t) => {
  const node = await startNode(t);
  const slow = await slowProxy(node.address, 1000);
  const client = await connect({ nodes: [slow], healthIntervalMs: 60_000 });
  // The first health check through the proxy takes a second.
  await client.waitForReady(1, 5000);
  let started = Date.now();
  const err = await t.throwsAsync(client.infer('linear', [X], { deadlineMs: 200 }));
  const took = Date.now() - started;
  t.is((err as SwitchyardError).code, GrpcStatus.DEADLINE_EXCEEDED);
  t.true(took >= 190 && took < 600, `took ${took} ms`);

  const nowhere = await connect({ nodes: ['127.0.0.1:1'] });
  started = Date.now();
  const none = await t.throwsAsync(nowhere.infer('linear', [X], { deadlineMs: 300 }));
  t.is((none as SwitchyardError).code, GrpcStatus.DEADLINE_EXCEEDED);
  t.true(Date.now() - started < 800);
});

test.serial('hedging returns the faster answer and cancels the other', async (t) => {
  const fastNode = await startNode(t);
  const slowNode = await startNode(t);
  // The slow node answers 2 s late, so an answer well before that cannot have waited for it,
  // with a margin no scheduling delay on a loaded machine comes near (a 400 ms delay did);
  // health checks get 5 s, so the slow node still counts as serving.
  const slow = await slowProxy(slowNode.address, 2000);
  const client = await connect({ nodes: [slow, fastNode.address], hedgeAfterMs: 50, healthIntervalMs: 5000 });
  await client.waitForReady(2, 15_000);
  for (let i = 0; i < 6; i++) {
    const started = Date.now();
    const r = await client.infer('linear', [X]);
    t.is(r.node, fastNode.address);
    t.true(Date.now() - started < 1500, `answered in ${Date.now() - started} ms`);
    // The slow attempt was cancelled, not left to run its 2 s.
    await new Promise((r) => setTimeout(r, 20));
    t.deepEqual(client.nodes.map((n) => n.inFlight), [0, 0]);
  }
});

test.serial('a draining node turns NOT_SERVING at once but serves through its grace time', async (t) => {
  const node = await startNode(t, { drainGraceMs: 1500 });
  const Inference = inferenceService();
  const raw = new Inference(node.address, grpc.credentials.createInsecure());
  cleanups.push(() => raw.close());
  const client = await connect({ nodes: [node.address] });
  await client.waitForReady();
  const stopping = node.stop(1000);
  t.is(node.state, 'DRAINING');
  const ready = await new Promise<boolean>((resolve, reject) =>
    (raw as unknown as { ServerReady: Function }).ServerReady({}, (err: Error | null, res: { ready: boolean }) => (err ? reject(err) : resolve(res.ready))),
  );
  t.false(ready);
  await waitFor(() => client.nodes.every((n) => !n.serving), { timeoutMs: 1000, message: 'client saw NOT_SERVING' });
  // Still answered during the grace time.
  const res = await new Promise<{ model_version: string }>((resolve, reject) =>
    (raw as unknown as { ModelInfer: Function }).ModelInfer(
      { model_name: 'linear', inputs: [{ name: 'x', datatype: 'FP32', shape: [2, 3] }], raw_input_contents: [encodeRaw(X.data)] },
      (err: Error | null, r: { model_version: string }) => (err ? reject(err) : resolve(r)),
    ),
  );
  t.is(res.model_version, t.context.version);
  await stopping;
  t.is(node.state, 'STOPPED');
  t.is(await t.context.client.get(t.context.keys.node(node.id)).string(), null);
});

test.serial('DNS discovery uses every address of the name', async (t) => {
  const node = await startNode(t);
  const port = node.address.split(':')[1]!;
  const client = await connect({ dns: `localhost:${port}` });
  await client.waitForReady();
  t.true(client.nodes.some((n) => n.address === `127.0.0.1:${port}` && n.serving));
  t.is((await client.infer('linear', [X])).node, `127.0.0.1:${port}`);
});

test.serial('a bad node record in etcd is reported and the good ones keep serving', async (t) => {
  const node = await startNode(t);
  const errors: unknown[] = [];
  const client = await connect({ etcd: { client: t.context.client, keys: t.context.keys }, onDiscoveryError: (err) => errors.push(err) });
  await client.waitForReady();
  await t.context.client.put(t.context.keys.node('garbage')).value('{not json');
  await waitFor(() => errors.length > 0, { message: 'the bad record reported' });
  t.deepEqual(client.nodes.map((n) => n.address), [node.address]);
  t.is((await client.infer('linear', [X])).node, node.address);
  await t.context.client.delete().key(t.context.keys.node('garbage'));
});

test('options are validated', async (t) => {
  await t.throwsAsync(InferenceClient.create({}), { instanceOf: TypeError, message: /exactly one/ });
  await t.throwsAsync(InferenceClient.create({ nodes: ['a:1'], dns: 'b:1' }), { instanceOf: TypeError });
  await t.throwsAsync(InferenceClient.create({ nodes: ['a:1'], deadlineMs: 0 }), { message: /deadlineMs/ });
  await t.throwsAsync(InferenceClient.create({ nodes: ['a:1'], retry: { maxAttempts: 0 } }), { message: /maxAttempts/ });
});
