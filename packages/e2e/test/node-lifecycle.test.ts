import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import anyTest, { type TestFn } from 'ava';
import { InferenceClient, INFERENCE_HEALTH_SERVICE, type InputTensor } from '@switchyard/client';
import { createEtcdClient } from '@switchyard/core/etcd';
import { inferenceService } from '@switchyard/core/grpc';
import { silentLogger } from '@switchyard/core/logging';
import { PredictionNode } from '@switchyard/prediction-node';
import { expectedLinear, freePort, linearModel, startEtcd, trackChild, waitFor, type EtcdProcess } from '@switchyard/testkit';
import { service as healthService } from 'grpc-health-check';
import { TestCluster } from './helpers/cluster.js';
import { TcpProxy } from './helpers/tcp-proxy.js';

/** The committed bin shim, from packages/e2e/dist/test/ to packages/cli/bin/. */
const CLI_BIN = fileURLToPath(new URL('../../../cli/bin/switchyard.js', import.meta.url));
const W = [1, 2, 3];
const ROW = [[1, 1, 1]];
const X: InputTensor = { name: 'x', datatype: 'FP32', shape: [1, 3], data: Float32Array.from(ROW.flat()) };
const EXPECTED = expectedLinear(W, 0, ROW)[0]!;

/** A `switchyard node` child process. */
interface NodeProcess {
  id: string;
  address: string;
  child: ChildProcess;
  exited: Promise<number | null>;
  log: string[];
}

interface Context {
  etcd: EtcdProcess;
  cluster: TestCluster;
  client: InferenceClient;
  nodes: NodeProcess[];
}

const test = anyTest as TestFn<Context>;

async function spawnNode(cluster: TestCluster, etcd: EtcdProcess, id: string): Promise<NodeProcess> {
  const port = await freePort();
  const metricsPort = await freePort();
  const child = spawn(
    process.execPath,
    [
      CLI_BIN,
      'node',
      '--etcd', etcd.endpoint,
      '--prefix', cluster.keys.prefix,
      '--listen', `127.0.0.1:${port}`,
      '--metrics-listen', `127.0.0.1:${metricsPort}`,
      '--data-dir', join(cluster.dir, id),
      '--id', id,
      '--drain-grace', '1s',
      '--shutdown-deadline', '5s',
    ],
    { env: { ...process.env, SWITCHYARD_LOG_LEVEL: 'info', SWITCHYARD_LOG_SILENT: '0' }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  trackChild(child);
  const log: string[] = [];
  const keep = (s: Buffer): void => {
    log.push(s.toString());
    if (log.length > 200) log.shift();
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { id, address: `127.0.0.1:${port}`, child, exited, log };
}

/** Four loops sending requests back to back until stopped; counts what was sent and what failed. */
function startLoad(client: InferenceClient, loops = 4): { stop: () => Promise<{ sent: number; failed: number; errors: string[]; retried: number }> } {
  let running = true;
  let sent = 0;
  let failed = 0;
  let retried = 0;
  const errors: string[] = [];
  const loop = async (): Promise<void> => {
    while (running) {
      sent++;
      try {
        const r = await client.infer('linear', [X], { deadlineMs: 5000 });
        if (r.attempts > 1) retried++;
        const y = (r.outputs.y!.data as Float32Array)[0]!;
        if (Math.abs(y - EXPECTED) > 1e-5) throw new Error(`wrong answer ${y} from ${r.node}`);
      } catch (err) {
        failed++;
        if (errors.length < 10) errors.push((err as Error).message);
        await new Promise((r) => setTimeout(r, 10));
      }
    }
  };
  const all = Array.from({ length: loops }, () => loop());
  return {
    stop: async () => {
      running = false;
      await Promise.all(all);
      return { sent, failed, errors, retried };
    },
  };
}

const serving = (client: InferenceClient, address: string): boolean => client.nodes.some((n) => n.address === address && n.serving);

test.before(async (t) => {
  const etcd = await startEtcd();
  const cluster = await TestCluster.start({ nodes: 0, etcd });
  t.context = { etcd, cluster, nodes: [] } as unknown as Context;
  await cluster.deploy('linear', linearModel({ weights: W, bias: 0 }));
  for (let i = 1; i <= 3; i++) t.context.nodes.push(await spawnNode(cluster, etcd, `node-${i}`));
  t.context.client = await InferenceClient.create({ etcd: { client: cluster.client, keys: cluster.keys }, healthIntervalMs: 200 });
  await t.context.client.waitForReady(3, 30_000).catch((err: unknown) => {
    for (const n of t.context.nodes) t.log(n.id, n.log.join('').slice(-2000));
    throw err;
  });
});

test.after.always(async (t) => {
  t.context.client?.close();
  for (const n of t.context.nodes ?? []) {
    try {
      n.child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
  await Promise.all((t.context.nodes ?? []).map((n) => Promise.race([n.exited, new Promise((r) => setTimeout(r, 5000))])));
  await t.context.cluster?.stop();
  await t.context.etcd?.destroy();
});

test.serial('SIGTERM drains a node and a restart brings it back with zero failed requests', async (t) => {
  const { client, cluster, etcd } = t.context;
  const victim = t.context.nodes[0]!;
  const load = startLoad(client);
  await new Promise((r) => setTimeout(r, 500));
  const started = Date.now();
  victim.child.kill('SIGTERM');
  await waitFor(() => !serving(client, victim.address), { timeoutMs: 5000, message: 'client saw the drain' });
  const movedAwayMs = Date.now() - started;
  const code = await Promise.race([victim.exited, new Promise<'hung'>((r) => setTimeout(() => r('hung'), 15_000))]);
  const exitedMs = Date.now() - started;
  t.is(code, 0, victim.log.join('').slice(-2000));
  await waitFor(() => !client.nodes.some((n) => n.address === victim.address), { timeoutMs: 5000, message: 'deregistered' });
  const restarted = await spawnNode(cluster, etcd, victim.id);
  t.context.nodes[0] = restarted;
  await waitFor(() => serving(client, restarted.address), { timeoutMs: 30_000, message: 'restarted node serving' });
  const convergedMs = Date.now() - started;
  await new Promise((r) => setTimeout(r, 500));
  const { sent, failed, errors, retried } = await load.stop();
  t.log(`drain: sent ${sent}, failed ${failed}, retried ${retried}; client moved away after ${movedAwayMs} ms, node exited after ${exitedMs} ms, restarted node serving (converged) after ${convergedMs} ms`);
  t.deepEqual(errors, []);
  t.is(failed, 0);
  t.true(sent > 100);
});

test.serial('SIGKILL of a node: in-flight and misdirected calls are retried on the others', async (t) => {
  const { client } = t.context;
  const victim = t.context.nodes[1]!;
  const load = startLoad(client);
  await new Promise((r) => setTimeout(r, 500));
  const started = Date.now();
  victim.child.kill('SIGKILL');
  await victim.exited;
  await waitFor(() => !serving(client, victim.address), { timeoutMs: 5000, message: 'client marked the killed node down' });
  const markedDownMs = Date.now() - started;
  // Its registration lasts until its lease (10 s TTL) expires; calls must keep succeeding meanwhile.
  await waitFor(() => !client.nodes.some((n) => n.address === victim.address), { timeoutMs: 30_000, intervalMs: 100, message: 'lease expired' });
  const droppedMs = Date.now() - started;
  const { sent, failed, errors, retried } = await load.stop();
  t.log(
    `kill: sent ${sent}, failed ${failed}, retried ${retried}; client stopped using the node after ${markedDownMs} ms, registration gone (converged) after ${droppedMs} ms`,
  );
  // The retry policy: UNAVAILABLE is retried on another node, up to 3 attempts; with two nodes left, none should fail.
  t.deepEqual(errors, []);
  t.is(failed, 0);
  t.true(sent > 100);
});

test.serial('a starting node reports NOT_SERVING and ServerReady false until its initial state is loaded', async (t) => {
  const { cluster, etcd } = t.context;
  const proxy = await TcpProxy.start(Number(new URL(etcd.endpoint).port));
  proxy.pause();
  const nodeEtcd = createEtcdClient({ endpoints: proxy.endpoint });
  const node = await PredictionNode.create({
    etcd: nodeEtcd,
    keys: cluster.keys,
    id: 'node-late',
    dataDir: join(cluster.dir, 'node-late'),
    logger: silentLogger(),
    drainGraceMs: 0,
  });
  const Inference = inferenceService();
  const HealthClient = grpc.makeGenericClientConstructor(healthService as unknown as grpc.ServiceDefinition, 'Health');
  const raw = new Inference(node.address, grpc.credentials.createInsecure()) as unknown as grpc.Client & { ServerReady: Function };
  const health = new HealthClient(node.address, grpc.credentials.createInsecure()) as unknown as grpc.Client & { Check: Function };
  const ready = (): Promise<boolean> => new Promise((res, rej) => raw.ServerReady({}, (e: Error | null, r: { ready: boolean }) => (e ? rej(e) : res(r.ready))));
  const status = (): Promise<string> =>
    new Promise((res, rej) => health.Check({ service: INFERENCE_HEALTH_SERVICE }, (e: Error | null, r: { status: string }) => (e ? rej(e) : res(r.status))));
  try {
    for (let i = 0; i < 5; i++) {
      t.is(node.state, 'STARTING');
      t.false(await ready());
      t.is(await status(), 'NOT_SERVING');
      await new Promise((r) => setTimeout(r, 200));
    }
    // Placed before it is reachable, as the placer does for a node it gives versions to: readiness waits for what is placed on it.
    const [placementKey, placement] = Object.entries(await cluster.client.getAll().prefix(cluster.keys.placementsPrefix('linear')).strings())[0]!;
    const record = JSON.parse(placement) as { copies: { nodeId: string; since: string }[] };
    record.copies.push({ nodeId: 'node-late', since: new Date().toISOString() });
    record.copies.sort((a, b) => (a.nodeId < b.nodeId ? -1 : 1));
    await cluster.client.put(placementKey).value(JSON.stringify(record));
    const resumed = Date.now();
    proxy.resume();
    await waitFor(async () => (await status()) === 'SERVING', { timeoutMs: 30_000, message: 'SERVING after etcd came back' });
    t.true(await ready());
    t.true(node.table.routes.has('linear'), 'ready only with the model loaded');
    t.log(`starting node ready ${Date.now() - resumed} ms after etcd became reachable`);
  } finally {
    raw.close();
    health.close();
    await node.stop(1000);
    nodeEtcd.close();
    await proxy.close();
  }
});
