/**
 * The overload phase of scenario (j) alone, for working on it: `switchyard
 * node` processes as they ship, the saturation MLP offered at `--rate`
 * requests per second (open loop) for 10 s, the figures scenario (j) prints
 * for it. With `--a <bin script of another build>`, that build's node and
 * this workspace's take turns, `--repeat` times each.
 * `--a-args` gives node A's Node.js flags (e.g. `--max-semi-space-size=32`).
 * `node packages/bench/dist/src/overload-probe.js --rate 12000 [--repeat 3] [--a /copy/packages/cli/bin/switchyard.js] [--a-args '...']`
 */
import { parseArgs } from 'node:util';
import { mlpModel, seededRandom } from '@switchyard/testkit';
import { BenchCluster } from './bench-cluster.js';
import { measureOverload } from './batching-scenario.js';
import { metricSum, startNodeProcess, type NodeProcess } from './node-process.js';
import { inferCall } from './requests.js';

const { values } = parseArgs({ options: { rate: { type: 'string', default: '12000' }, repeat: { type: 'string', default: '1' }, a: { type: 'string' }, 'a-args': { type: 'string' } } });
const MLP = { inputSize: 256, hidden: 1024, layers: 4, seed: 7 };
const cluster = await BenchCluster.start(0);
const nodes: { label: string; node: NodeProcess }[] = [];
try {
  for (const [label, bin] of values.a ? ([['A', values.a], ['B', undefined]] as const) : ([['B', undefined]] as const)) {
    nodes.push({ label, node: await startNodeProcess({ etcdEndpoint: cluster.etcd.endpoint, prefix: '/bench/', id: `overload-${label.toLowerCase()}`, dir: cluster.dir, ...(bin ? { bin } : {}), ...(label === 'A' && values['a-args'] ? { execArgv: values['a-args'].split(' ') } : {}) }) });
  }
  const random = seededRandom(1);
  const data = Float32Array.from({ length: MLP.inputSize }, () => random() * 2 - 1);
  const o = { cluster, warmupMs: 500, durationMs: 10_000, rounds: 1, quick: false, log: (l: string) => console.error(l) };
  const deploy = async (model: string, bytes: Uint8Array, runtime?: Parameters<BenchCluster['createVersion']>[2]) => {
    const version = await cluster.createVersion(model, bytes, runtime);
    await cluster.routeAll(model, version);
    await cluster.watch!.waitReady(model, version, nodes.map((n) => n.node.id), 120_000);
    return version;
  };
  const call = (label: string, model: string) => inferCall(label, model, { name: 'x', shape: [1, MLP.inputSize], data });
  for (let i = 0; i < Number(values.repeat); i++) {
    for (const n of i % 2 === 0 ? nodes : [...nodes].reverse()) {
      const before = await n.node.metrics();
      const r = await measureOverload(o, n.node, deploy, mlpModel(MLP), call, Number(values.rate) / 2);
      const after = await n.node.metrics();
      const gc = (kind: string, what: string) => metricSum(after, `switchyard_node_nodejs_gc_duration_seconds_${what}`, { kind }) - metricSum(before, `switchyard_node_nodejs_gc_duration_seconds_${what}`, { kind });
      console.log(`  gc: ${['minor', 'major', 'incremental', 'weakcb'].map((k) => `${k} ${gc(k, 'count')}× ${Math.round(gc(k, 'sum') * 1000)} ms`).join(', ')}; loop lag p99 ${metricSum(after, 'switchyard_node_nodejs_eventloop_lag_p99_seconds') * 1000} ms max ${metricSum(after, 'switchyard_node_nodejs_eventloop_lag_max_seconds') * 1000} ms`);
      console.log(`${n.label} admitted ${r.admitted} p50 ${r.admittedP50Ms} p99 ${r.admittedP99Ms} bound ${r.boundMs} compute ${r.batchComputeMs} refused ${JSON.stringify(r.refusedByReason)} node queue ${r.nodeQueueMeanMs} node request ${r.nodeRequestMeanMs} health p99 ${r.healthP99Ms}`);
    }
  }
} finally {
  for (const n of nodes) await n.node.stop();
  await cluster.stop();
}
