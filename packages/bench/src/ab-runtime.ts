/**
 * A/B of runtime settings (issue #17) on one `switchyard node` process, as
 * it ships: the saturation MLP deployed as several models that differ only
 * in their runtime settings, the bare grpc-js + onnxruntime server beside
 * them, and the first settings twice (the A/A noise floor). One closed-loop
 * client per arm, measured in rotating segments so that the shared
 * machine's load falls on every arm alike.
 * `node packages/bench/dist/src/ab-runtime.js [--rounds 12] [--segment 1.5] [--concurrency 32] --arm '{"max_batch_size":32,"max_batch_delay_ms":2}' --arm '{"instances":2,...}'`
 */
import { parseArgs } from 'node:util';
import { mlpModel, seededRandom } from '@switchyard/testkit';
import { BenchCluster } from './bench-cluster.js';
import { startBareServer } from './bare-server.js';
import { arm, segment } from './batching-scenario.js';
import { metricSum, startNodeProcess } from './node-process.js';
import { inferCall } from './requests.js';
import { median, round, summarize } from './stats.js';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '12' },
    segment: { type: 'string', default: '1.5' },
    concurrency: { type: 'string', default: '32' },
    arm: { type: 'string', multiple: true, default: ['{"max_batch_size":32,"max_batch_delay_ms":2}'] },
  },
});
const MLP = { inputSize: 256, hidden: 1024, layers: 4, seed: 7 };
const rounds = Number(values.rounds);
const segmentMs = Number(values.segment) * 1000;
const settings = values.arm.map((s) => JSON.parse(s) as Record<string, unknown>);

const cluster = await BenchCluster.start(0);
const node = await startNodeProcess({ etcdEndpoint: cluster.etcd.endpoint, prefix: '/bench/', id: 'ab-runtime', dir: cluster.dir });
const bytes = mlpModel(MLP);
const bare = await startBareServer(bytes);
const cpuOfBench = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
try {
  // The first settings twice: the second copy is the A/A floor.
  const models = [...settings, settings[0]!].map((runtime, i) => ({ model: `m${i}`, runtime, label: i === settings.length ? 'A/A' : `s${i}` }));
  for (const m of models) {
    const version = await cluster.createVersion(m.model, bytes, runtime(m.runtime));
    await cluster.routeAll(m.model, version);
    await cluster.watch!.waitReady(m.model, version, [node.id], 120_000);
  }
  const random = seededRandom(1);
  const data = Float32Array.from({ length: MLP.inputSize }, () => random() * 2 - 1);
  const targets = [{ label: 'bare', model: 'mlp', address: bare.address, cpu: cpuOfBench }, ...models.map((m) => ({ label: m.label, model: m.model, address: node.address, cpu: () => node.cpuMs() }))];
  const arms = [];
  for (const t of targets) {
    const call = inferCall(t.label, t.model, { name: 'x', shape: [1, MLP.inputSize], data });
    arms.push({ model: t.model, ...(await arm(t.address, call, Number(values.concurrency), t.cpu, 1000)) });
  }
  const before = await node.metrics();
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < arms.length; i++) await segment(arms[(i + r) % arms.length]!, segmentMs);
    console.error(`round ${r + 1}/${rounds}: ${arms.map((a) => `${a.label} ${round(a.rps.at(-1)!, 0)}`).join(', ')}`);
  }
  const after = await node.metrics();
  for (const a of arms) await a.client.close();
  const [b, ...rest] = arms;
  const meanRows = (model: string) => {
    const d = (name: string) => metricSum(after, name, { model }) - metricSum(before, name, { model });
    return round(d('switchyard_batch_size_sum') / Math.max(1, d('switchyard_batch_size_count')), 1);
  };
  const rows = [b!, ...rest].map((a) => ({
    arm: a.label,
    runtime: a.label === 'bare' ? '(bare server)' : JSON.stringify(models.find((m) => m.model === a.model)!.runtime),
    reqPerS: round(a.rps.reduce((s, v) => s + v, 0) / a.rps.length, 0),
    vsBareMedian: round(median(a.rps.map((v, i) => v / b!.rps[i]!))),
    p99Ms: round(summarize(a.latencies).p99Ms),
    cpuUsPerReq: round((a.cpuMs * 1000) / Math.max(1, a.calls), 1),
    meanRows: a.label === 'bare' ? 1 : meanRows(a.model),
  }));
  console.table(rows);
  const s0 = rest[0]!;
  for (const a of rest.slice(1)) console.log(`${a.label} / s0, median of rounds: ${round(median(a.rps.map((v, i) => v / s0.rps[i]!)))}`);
} finally {
  await bare.stop();
  await node.stop();
  await cluster.stop();
}

function runtime(r: Record<string, unknown>): Parameters<BenchCluster['createVersion']>[2] {
  return r as Parameters<BenchCluster['createVersion']>[2];
}
