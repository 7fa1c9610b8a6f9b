import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { fileURLToPath } from 'node:url';
import anyTest, { type ExecutionContext, type TestFn } from 'ava';
import type { Etcd3 } from 'etcd3';
import { GrpcStatus, KeyLayout, SwitchyardError } from '@switchyard/core';
import { createEtcdClient } from '@switchyard/core/etcd';
import { capturingLogger, freePort, makeTempDir, removeDir } from '@switchyard/testkit';
import { PredictionNode } from '../src/prediction-node.js';
import { RuntimeReporter } from '../src/runtime-reporter.js';
import { useRealEtcd } from './helpers/real-etcd.js';

const test = (anyTest as TestFn).serial;
const etcdProcess = useRealEtcd(test);

/** A port some other server holds. */
async function takenPort(t: ExecutionContext): Promise<number> {
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return (server.address() as { port: number }).port;
}

async function leases(etcd: Etcd3): Promise<string[]> {
  const response = await etcd.leaseClient.leaseLeases();
  return response.leases.map((l) => String(l.ID));
}

async function portIsFree(port: number): Promise<boolean> {
  const server = createServer();
  return new Promise((resolve) => {
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

async function setUp(t: ExecutionContext) {
  const etcd = createEtcdClient({ endpoints: etcdProcess().endpoint, callTimeoutMs: 2000 });
  t.teardown(() => etcd.close());
  const dataDir = await makeTempDir('switchyard-start-failure-');
  t.teardown(() => removeDir(dataDir));
  return { etcd, dataDir };
}

test('a taken inference port: create() rejects with UNAVAILABLE naming the address, logged once; /metrics, registration and lease are gone', async (t) => {
  const { etcd, dataDir } = await setUp(t);
  const keys = new KeyLayout('/bind-grpc/');
  const port = await takenPort(t);
  const metricsPort = await freePort();
  const { logger, records } = capturingLogger();
  const before = await leases(etcd);

  const error = await t.throwsAsync(
    PredictionNode.create({ etcd, keys, dataDir, logger, id: 'n1', listen: `127.0.0.1:${port}`, metricsListen: `127.0.0.1:${metricsPort}`, drainGraceMs: 0 }),
    { instanceOf: SwitchyardError },
  );
  t.is(error.code, GrpcStatus.UNAVAILABLE);
  t.regex(error.message, new RegExp(`^UNAVAILABLE: the inference server could not listen on 127\\.0\\.0\\.1:${port} \\(.+\\); choose another address or port$`));
  const errors = records.filter((r) => r.level === 'error');
  t.is(errors.length, 1, 'logged once');
  t.like(errors[0], { component: 'inference-server' });

  t.true(await portIsFree(metricsPort), 'the metrics server started before it was closed again');
  t.deepEqual(await etcd.getAll().prefix(keys.prefix).keys(), [], 'nothing registered');
  t.deepEqual(await leases(etcd), before, 'no lease left behind');
});

test('a taken metrics port: create() rejects with UNAVAILABLE naming the metrics address', async (t) => {
  const { etcd, dataDir } = await setUp(t);
  const port = await takenPort(t);
  const error = await t.throwsAsync(
    PredictionNode.create({ etcd, keys: new KeyLayout('/bind-metrics/'), dataDir, logger: capturingLogger().logger, metricsListen: `127.0.0.1:${port}` }),
    { instanceOf: SwitchyardError },
  );
  t.is(error.code, GrpcStatus.UNAVAILABLE);
  t.regex(error.message, new RegExp(`the metrics server could not listen on 127\\.0\\.0\\.1:${port}`));
});

test('a process whose node failed to bind exits by itself: no timer, socket or keep-alive is left open', async (t) => {
  const { dataDir } = await setUp(t);
  const port = await takenPort(t);
  const script = fileURLToPath(new URL('./helpers/start-on-taken-port.js', import.meta.url));
  const child = spawn(process.execPath, [script, etcdProcess().endpoint, '/bind-child/', dataDir, `127.0.0.1:${port}`, '127.0.0.1:0'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  const code = await exited;
  clearTimeout(timer);
  t.is(code, 0, `the child should exit on its own (a kill after 20 s means a handle was left open); it printed: ${out}`);
  const result = JSON.parse(out.trim()) as { name: string; code: number; message: string; errorsLogged: number };
  t.like(result, { name: 'SwitchyardError', code: GrpcStatus.UNAVAILABLE, errorsLogged: 1 });
  t.regex(result.message, /could not listen on/);
});

test('a reporter closed while its lease is being granted leaves no lease and no key', async (t) => {
  const { etcd } = await setUp(t);
  const before = await leases(etcd);
  const reporter = new RuntimeReporter({ etcd, logger: capturingLogger().logger, ttlSeconds: 30 });
  reporter.set('/reporter-race/node', '{}');
  await reporter.close();
  // Give a grant that was in flight time to land, had close() not waited for it.
  await new Promise((r) => setTimeout(r, 300));
  t.deepEqual(await leases(etcd), before);
  t.is(await etcd.get('/reporter-race/node').string(), null);
});
