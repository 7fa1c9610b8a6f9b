/**
 * Profiles `switchyard node` (as it ships, in its own process) under one
 * steady load, for per-request main-thread cost work (issue #17):
 * `node packages/bench/dist/src/profile-node.js [--seconds 20] [--dir /tmp/prof] [--model mlp|linear] [--no-profile] [--node-args '…']`.
 * The MLP 256→1024×4 with batching (max 32, delay 2 ms) at concurrency 32 is
 * scenario (j)'s saturation phase; the node writes a .cpuprofile per thread
 * into `--dir` when it stops. Prints req/s and the node's CPU per request.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { linearModel, mlpModel, seededRandom } from '@switchyard/testkit';
import { BenchCluster } from './bench-cluster.js';
import { LoadClient } from './load-runner.js';
import { metricSum, startNodeProcess } from './node-process.js';
import { inferCall } from './requests.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '20' },
    dir: { type: 'string', default: '/tmp/switchyard-node-profile' },
    model: { type: 'string', default: 'mlp' },
    concurrency: { type: 'string', default: '32' },
    'no-profile': { type: 'boolean', default: false },
    /** More Node.js flags for the node, space-separated (e.g. GC settings). */
    'node-args': { type: 'string', default: '' },
  },
});
const seconds = Number(values.seconds);
const concurrency = Number(values.concurrency);
const mlp = values.model === 'mlp';
const MLP = { inputSize: 256, hidden: 1024, layers: 4, seed: 7 };

/** CPU ms of each thread of `pid` by thread name and id (Linux /proc; USER_HZ 100). */
function threadCpu(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(`${Number(tid) === pid ? 'main' : name}#${tid}`, (Number(f[11]) + Number(f[12])) * 10);
    } catch {
      // The thread ended.
    }
  }
  return out;
}

const cluster = await BenchCluster.start(0);
const node = await startNodeProcess({
  etcdEndpoint: cluster.etcd.endpoint,
  prefix: '/bench/',
  id: 'profiled-1',
  dir: cluster.dir,
  execArgv: [...(values['no-profile'] ? [] : ['--cpu-prof', `--cpu-prof-dir=${values.dir}`]), ...values['node-args'].split(' ').filter(Boolean)],
});
try {
  const bytes = mlp ? mlpModel(MLP) : linearModel({ weights: [0.5, -1.25, 2], bias: 0.75 });
  const version = await cluster.createVersion('m', bytes, mlp ? { max_batch_size: 32, max_batch_delay_ms: 2 } : undefined);
  await cluster.routeAll('m', version);
  await cluster.watch!.waitReady('m', version, [node.id], 120_000);
  const random = seededRandom(1);
  const width = mlp ? MLP.inputSize : 3;
  const call = inferCall('node', 'm', { name: 'x', shape: [1, width], data: Float32Array.from({ length: width }, () => random() * 2 - 1) });
  const client = await LoadClient.start({ target: node.address, mode: 'closed-loop', calls: [call], concurrency, intervalMs: 0, deadlineMs: 10_000 });
  await client.run(2000, 0);
  const before = await node.metrics();
  const cpu0 = node.cpuMs();
  const threads0 = threadCpu(node.pid);
  const r = await client.run(0, seconds * 1000);
  const cpuMs = node.cpuMs() - cpu0;
  const threads1 = threadCpu(node.pid);
  const after = await node.metrics();
  await client.close();
  const c = r.calls.node!;
  const perThread: Record<string, number> = {};
  for (const [k, v] of threads1) {
    const us = Math.round(((v - (threads0.get(k) ?? 0)) * 1000) / Math.max(1, c.total));
    if (us > 0) perThread[k] = us;
  }
  const runs = metricSum(after, 'switchyard_batch_size_count', { model: 'm' }) - metricSum(before, 'switchyard_batch_size_count', { model: 'm' });
  const rows = metricSum(after, 'switchyard_batch_size_sum', { model: 'm' }) - metricSum(before, 'switchyard_batch_size_sum', { model: 'm' });
  console.log(
    JSON.stringify({
      requestsPerSecond: Math.round(c.completed / (r.windowMs / 1000)),
      errors: c.errors,
      cpuUsPerRequest: Math.round((cpuMs * 1000) / Math.max(1, c.total)),
      meanRows: runs > 0 ? Math.round((rows / runs) * 10) / 10 : 0,
      cpuUsPerRequestByThread: perThread,
    }),
  );
} finally {
  await node.stop();
  await cluster.stop();
}
