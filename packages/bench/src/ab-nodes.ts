/**
 * A/B of two builds of `switchyard node` under the same load at the same
 * time: node A (an earlier build's bin script, e.g. a copy of its
 * `packages/`), node B (this workspace) and a second node A (the A/A noise
 * floor), each in its own process, all serving one model; a closed-loop
 * client per node, measured in rotating segments so that the shared
 * machine's load falls on every arm alike.
 * `node packages/bench/dist/src/ab-nodes.js --a /copy/packages/cli/bin/switchyard.js [--rounds 16] [--segment 1] [--model mlp|linear] [--concurrency 32]`
 */
import { parseArgs } from 'node:util';
import { linearModel, mlpModel, seededRandom } from '@switchyard/testkit';
import { BenchCluster } from './bench-cluster.js';
import { LoadClient } from './load-runner.js';
import { startNodeProcess, type NodeProcess } from './node-process.js';
import { inferCall } from './requests.js';
import { median, round, summarize } from './stats.js';

const { values } = parseArgs({
  options: {
    a: { type: 'string' },
    rounds: { type: 'string', default: '16' },
    segment: { type: 'string', default: '1' },
    model: { type: 'string', default: 'mlp' },
    concurrency: { type: 'string', default: '32' },
  },
});
if (!values.a) throw new Error('--a <bin script of build A> is required');
const mlp = values.model === 'mlp';
const MLP = { inputSize: 256, hidden: 1024, layers: 4, seed: 7 };
const rounds = Number(values.rounds);
const segmentMs = Number(values.segment) * 1000;

const cluster = await BenchCluster.start(0);
const nodes: { label: string; node: NodeProcess }[] = [];
try {
  for (const [label, bin] of [['A', values.a], ['B', undefined], ['A2', values.a]] as const) {
    nodes.push({ label, node: await startNodeProcess({ etcdEndpoint: cluster.etcd.endpoint, prefix: '/bench/', id: `ab-${label.toLowerCase()}`, dir: cluster.dir, ...(bin ? { bin } : {}) }) });
  }
  const bytes = mlp ? mlpModel(MLP) : linearModel({ weights: [0.5, -1.25, 2], bias: 0.75 });
  const version = await cluster.createVersion('m', bytes, mlp ? { max_batch_size: 32, max_batch_delay_ms: 2 } : undefined);
  await cluster.routeAll('m', version);
  await cluster.watch!.waitReady('m', version, nodes.map((n) => n.node.id), 120_000);
  const random = seededRandom(1);
  const width = mlp ? MLP.inputSize : 3;
  const data = Float32Array.from({ length: width }, () => random() * 2 - 1);
  const arms = [];
  for (const n of nodes) {
    const client = await LoadClient.start({ target: n.node.address, mode: 'closed-loop', calls: [inferCall(n.label, 'm', { name: 'x', shape: [1, width], data })], concurrency: Number(values.concurrency), intervalMs: 0, deadlineMs: 10_000 });
    await client.run(1000, 0);
    arms.push({ ...n, client, rps: [] as number[], cpuMs: 0, calls: 0, latencies: [] as number[] });
  }
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < arms.length; i++) {
      const a = arms[(i + r) % arms.length]!;
      const cpu0 = a.node.cpuMs();
      const res = await a.client.run(0, segmentMs);
      a.cpuMs += a.node.cpuMs() - cpu0;
      const c = res.calls[a.label]!;
      if (c.errors > 0) throw new Error(`${a.label}: ${c.errors} failed, first: ${c.firstError}`);
      a.calls += c.total;
      a.latencies.push(...c.latenciesMs);
      a.rps.push(c.completed / (res.windowMs / 1000));
    }
  }
  for (const a of arms) await a.client.close();
  const [A, B, A2] = arms as [(typeof arms)[0], (typeof arms)[0], (typeof arms)[0]];
  const per = (x: typeof A) => ({
    requestsPerSecond: round(x.rps.reduce((s, v) => s + v, 0) / x.rps.length, 0),
    cpuUsPerRequest: round((x.cpuMs * 1000) / Math.max(1, x.calls), 1),
    p99Ms: round(summarize(x.latencies).p99Ms),
  });
  console.log(
    JSON.stringify({
      model: values.model,
      rounds,
      A: per(A),
      B: per(B),
      A2: per(A2),
      ratioBA: round(median(B.rps.map((v, i) => v / A.rps[i]!))),
      ratioA2A: round(median(A2.rps.map((v, i) => v / A.rps[i]!))),
      cpuRatioAB: round(per(A).cpuUsPerRequest / per(B).cpuUsPerRequest),
      cpuRatioAA2: round(per(A).cpuUsPerRequest / per(A2).cpuUsPerRequest),
    }),
  );
} finally {
  for (const n of nodes) await n.node.stop();
  await cluster.stop();
}
