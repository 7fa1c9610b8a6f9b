/**
 * (j) Dynamic batching and overload control (issue #17), on a node in its own
 * process as `switchyard node` runs it (node-process.ts):
 * - saturation: the 256→1024×4 MLP at client concurrency 32, the node with
 *   batching against the bare grpc-js + onnxruntime server (one request, one
 *   run), alternating rounds; batch-size distribution and CPU per request.
 * - low load: the linear model at concurrency 1, batching on vs off, with an
 *   A/A pair (off vs a second identical off model) as the noise floor.
 * - overload: an open-loop client offering twice the measured capacity;
 *   p99 of the admitted requests against the queue time-out plus one batch's
 *   compute time, refusals counted, health checks probed meanwhile.
 * - shadows: a primary with a 100 % shadow at half capacity: the share of
 *   shadow calls dropped.
 */
import { silentLogger } from '@switchyard/core/logging';
import { ShadowAdmin, TargetStateStore } from '@switchyard/control-plane';
import { createEtcdClient } from '@switchyard/core/etcd';
import { systemClock } from '@switchyard/core';
import { linearModel, mlpModel, seededRandom } from '@switchyard/testkit';
import type { BenchCluster } from './bench-cluster.js';
import type { CallSpec } from './load-protocol.js';
import { LoadClient } from './load-runner.js';
import { metricSum, startNodeProcess, type NodeProcess } from './node-process.js';
import { startBareServer } from './bare-server.js';
import { healthCheckCall, inferCall } from './requests.js';
import { median, round, summarize } from './stats.js';

const MLP = { inputSize: 256, hidden: 1024, layers: 4, seed: 7 };
const LINEAR = { weights: [0.5, -1.25, 2], bias: 0.75 };
const SATURATION_CONCURRENCY = 32;
const MAX_BATCH = 32;
/** Under load, right after a run, how long a request may wait for the rest of the callers just answered. */
const MAX_BATCH_DELAY_MS = 2;
/** Overload phase: offered load as a multiple of the measured capacity, and its queue settings. */
const OVERLOAD_FACTOR = 2;
const OVERLOAD_QUEUE_TIMEOUT_MS = 50;
const OVERLOAD_QUEUE_SIZE = 256;
/**
 * Calls one client keeps outstanding: the node's HTTP/2 stream limit per
 * connection (maxConcurrentStreams). Past it grpc-js would queue calls in the
 * client, where no server can see, bound or refuse them: an arrival finding
 * this many outstanding is counted as refused by the transport instead.
 */
const OPEN_LOOP_MAX_OUTSTANDING = 128;
/** The node's batch-size histogram buckets (prediction-node queue-metrics.ts). */
const BATCH_SIZE_BUCKETS_FOR_REPORT = [1, 2, 4, 8, 16, 32, 64, 128, 256];

export interface PairFigures {
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** CPU time of the server's process(es) per answered request, µs. */
  cpuUsPerRequest: number;
}

/** Per-request cost of the node as shipped: linear model, node processes against the bare server. */
export interface ShippedCost {
  concurrency: number;
  bare: PairFigures;
  /** A second bare server: the A/A noise floor. */
  bareAgain: PairFigures;
  /** As shipped since issue #17: heap trimmed after loads and unloads. */
  node: PairFigures;
  /** As shipped before: MALLOC_TRIM_THRESHOLD_=131072 in the node's environment. */
  nodeThreshold: PairFigures;
  /** Medians over rounds of req/s ÷ bare req/s. */
  nodeRatio: number;
  nodeThresholdRatio: number;
  aaRatio: number;
  /** bare CPU per request ÷ node CPU per request (pooled). */
  nodeCpuRatio: number;
  nodeThresholdCpuRatio: number;
}

export interface BatchingResults {
  shipped: ShippedCost[];
  saturation: {
    bare: PairFigures;
    node: PairFigures;
    /** Median over rounds of node req/s ÷ bare req/s. */
    ratio: number;
    roundRatios: number[];
    /** node p99 ÷ bare p99 (pooled). */
    p99Ratio: number;
    /** Runs of the node by rows (upper bound of the bucket → runs). */
    batchSizes: Record<string, number>;
    meanBatchRows: number;
  };
  lowLoad: { off: PairFigures; on: PairFigures; offAgain: PairFigures; ratio: number; aaRatio: number; roundRatios: number[] };
  overload: {
    capacityPerSecond: number;
    offeredPerSecond: number;
    seconds: number;
    admitted: number;
    /** Arrivals not sent: the connection's stream limit was reached (HTTP/2 refuses them in effect). */
    refusedByTransport: number;
    admittedP50Ms: number;
    admittedP99Ms: number;
    refused: number;
    refusedByReason: Record<string, number>;
    queueTimeoutMs: number;
    /** Mean compute time of one run (a batch) in the phase, ms. */
    batchComputeMs: number;
    /** queue time-out + one batch's compute: the bound of the admitted p99. */
    boundMs: number;
    healthP50Ms: number;
    healthP99Ms: number;
    healthMaxMs: number;
    /** Where an admitted request's time went, node side, means in ms: waiting in the queue, and decoded request to encoded response. */
    nodeQueueMeanMs: number;
    nodeRequestMeanMs: number;
    /** Share of admitted requests whose node-side time (decoded to encoded) exceeded 50 ms (a histogram bound). */
    nodeOver50msShare: number;
  };
  shadow: { offeredPerSecond: number; mirrored: number; dropped: number; dropShare: number; primaryP99Ms: number };
}

export interface BatchingOptions {
  cluster: BenchCluster;
  warmupMs: number;
  durationMs: number;
  rounds: number;
  quick: boolean;
  log: (line: string) => void;
}

function randomInput(n: number, seed: number): Float32Array {
  const random = seededRandom(seed);
  return Float32Array.from({ length: n }, () => random() * 2 - 1);
}

/** One closed-loop client measured in segments that rotate with other arms' (its figures summed over them). */
export interface Arm {
  client: LoadClient;
  label: string;
  cpu: () => number;
  completed: number;
  windowMs: number;
  latencies: number[];
  cpuMs: number;
  calls: number;
  rps: number[];
}

/** Starts a closed-loop client of `call` against `target` and warms its connection. */
export async function arm(target: string, call: CallSpec, concurrency: number, cpu: () => number, warmupMs: number): Promise<Arm> {
  const client = await LoadClient.start({ target, mode: 'closed-loop', calls: [call], concurrency, intervalMs: 0, deadlineMs: 10_000 });
  await client.run(warmupMs, 0);
  return { client, label: call.label, cpu, completed: 0, windowMs: 0, latencies: [], cpuMs: 0, calls: 0, rps: [] };
}

/** Runs one measured segment of `a` (after 100 ms unmeasured), adding to its figures; throws on a failed call. */
export async function segment(a: Arm, segmentMs: number): Promise<void> {
  const cpu0 = a.cpu();
  const r = await a.client.run(100, segmentMs);
  a.cpuMs += a.cpu() - cpu0;
  const c = r.calls[a.label]!;
  if (c.errors > 0) throw new Error(`${a.label}: ${c.errors} failed calls, first: ${c.firstError}`);
  a.completed += c.completed;
  a.calls += c.total;
  a.windowMs += r.windowMs;
  a.latencies.push(...c.latenciesMs);
  a.rps.push(c.completed / (r.windowMs / 1000));
}

function figures(a: Arm): PairFigures {
  const s = summarize(a.latencies);
  return {
    requestsPerSecond: round(a.completed / (a.windowMs / 1000), 1),
    p50Ms: round(s.p50Ms),
    p99Ms: round(s.p99Ms),
    cpuUsPerRequest: round((a.cpuMs * 1000) / Math.max(1, a.calls), 1),
  };
}

const bareCpu = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

/** Non-cumulative runs per batch-size bucket of one model, from two scrapes. */
function batchSizes(before: string, after: string, model: string): { byBucket: Record<string, number>; meanRows: number } {
  const byBucket: Record<string, number> = {};
  let previous = 0;
  for (const le of [...BATCH_SIZE_BUCKETS_FOR_REPORT, '+Inf']) {
    const at = (text: string) => metricSum(text, 'switchyard_batch_size_bucket', { model, le: String(le) });
    const cumulative = at(after) - at(before);
    byBucket[`<=${le}`] = cumulative - previous;
    previous = cumulative;
  }
  const sum = metricSum(after, 'switchyard_batch_size_sum', { model }) - metricSum(before, 'switchyard_batch_size_sum', { model });
  const count = metricSum(after, 'switchyard_batch_size_count', { model }) - metricSum(before, 'switchyard_batch_size_count', { model });
  return { byBucket, meanRows: count > 0 ? round(sum / count, 1) : 0 };
}

export async function measureBatching(o: BatchingOptions): Promise<BatchingResults> {
  const { cluster, log } = o;
  // SWITCHYARD_BENCH_NODE_ARGS (e.g. "--cpu-prof --cpu-prof-dir=/tmp/p") profiles the node as shipped.
  const nodeArgs = process.env.SWITCHYARD_BENCH_NODE_ARGS;
  const node = await startNodeProcess({
    etcdEndpoint: cluster.etcd.endpoint,
    prefix: '/bench/',
    id: 'shipped-1',
    dir: cluster.dir,
    ...(nodeArgs ? { execArgv: nodeArgs.split(' ').filter(Boolean) } : {}),
  });
  const mlpBytes = mlpModel(MLP);
  const bare = await startBareServer(mlpBytes);
  const etcd = createEtcdClient({ endpoints: cluster.etcd.endpoint });
  try {
    const deploy: Deploy = async (model, bytes, runtime) => {
      const version = await cluster.createVersion(model, bytes, runtime);
      await cluster.routeAll(model, version);
      await cluster.watch!.waitReady(model, version, [node.id, ...cluster.nodeIds], 120_000);
      return version;
    };
    log(`  node: switchyard node in its own process (pid ${node.pid}), as it ships`);
    const shipped = await measureShipped(o, node);
    // SWITCHYARD_BENCH_MLP_RUNTIME (JSON runtime settings, proto field names) tries other settings for the saturation MLP.
    const mlpRuntime = { max_batch_size: MAX_BATCH, max_batch_delay_ms: MAX_BATCH_DELAY_MS, ...(JSON.parse(process.env.SWITCHYARD_BENCH_MLP_RUNTIME ?? '{}') as object) };
    log(`  saturation MLP runtime settings: ${JSON.stringify(mlpRuntime)}`);
    await deploy('mlp-batch', mlpBytes, mlpRuntime);
    const mlpCall = (label: string, model: string) => inferCall(label, model, { name: 'x', shape: [1, MLP.inputSize], data: randomInput(MLP.inputSize, 1) });
    const saturation = await measureSaturation(o, node, bare.address, mlpCall);
    await bare.stop();

    const lowLoad = await measureLowLoad(o, node, deploy);
    const overload = await measureOverload(o, node, deploy, mlpBytes, mlpCall, saturation.node.requestsPerSecond);
    const shadow = await measureShadowDrops(o, node, deploy, mlpBytes, mlpCall, saturation.node.requestsPerSecond, etcd);
    return { shipped, saturation, lowLoad, overload, shadow };
  } finally {
    await bare.stop().catch(() => undefined);
    await node.stop();
    etcd.close();
  }
}

async function measureShipped(o: BatchingOptions, node: NodeProcess): Promise<ShippedCost[]> {
  const bytes = linearModel(LINEAR);
  const before = await startNodeProcess({
    etcdEndpoint: o.cluster.etcd.endpoint,
    prefix: '/bench/',
    id: 'threshold-1',
    dir: o.cluster.dir,
    env: { MALLOC_TRIM_THRESHOLD_: '131072', SWITCHYARD_NO_HEAP_TRIM: '1' },
  });
  const bare = await startBareServer(bytes);
  const bareAgain = await startBareServer(bytes);
  try {
    const version = await o.cluster.createVersion('lin-cost', bytes);
    await o.cluster.routeAll('lin-cost', version);
    await o.cluster.watch!.waitReady('lin-cost', version, [node.id, before.id], 120_000);
    const call = (label: string) => inferCall(label, 'lin-cost', { name: 'x', shape: [1, 3], data: Float32Array.from([1, 2, 3]) });
    const out: ShippedCost[] = [];
    for (const concurrency of [1, SATURATION_CONCURRENCY]) {
      o.log(`  per-request cost, linear at c=${concurrency}: bare, bare (A/A), node as shipped, node with MALLOC_TRIM_THRESHOLD_ (before), ${o.rounds} rotating rounds`);
      const arms = [
        await arm(bare.address, call('bare'), concurrency, bareCpu, o.warmupMs),
        await arm(bareAgain.address, call('bare2'), concurrency, bareCpu, o.warmupMs),
        await arm(node.address, call('node'), concurrency, () => node.cpuMs(), o.warmupMs),
        await arm(before.address, call('threshold'), concurrency, () => before.cpuMs(), o.warmupMs),
      ];
      try {
        const segmentMs = o.durationMs / o.rounds;
        for (let r = 0; r < o.rounds; r++) for (let i = 0; i < arms.length; i++) await segment(arms[(i + r) % arms.length]!, segmentMs);
      } finally {
        for (const a of arms) await a.client.close();
      }
      const [b, b2, n, t] = arms as [Arm, Arm, Arm, Arm];
      const ratio = (x: Arm) => round(median(x.rps.map((v, i) => v / b.rps[i]!)));
      const fb = figures(b);
      const fn = figures(n);
      const ft = figures(t);
      out.push({
        concurrency,
        bare: fb,
        bareAgain: figures(b2),
        node: fn,
        nodeThreshold: ft,
        nodeRatio: ratio(n),
        nodeThresholdRatio: ratio(t),
        aaRatio: ratio(b2),
        nodeCpuRatio: round(fb.cpuUsPerRequest / fn.cpuUsPerRequest),
        nodeThresholdCpuRatio: round(fb.cpuUsPerRequest / ft.cpuUsPerRequest),
      });
    }
    return out;
  } finally {
    await bare.stop();
    await bareAgain.stop();
    await before.stop();
  }
}

async function measureSaturation(o: BatchingOptions, node: NodeProcess, bareAddress: string, mlpCall: (l: string, m: string) => CallSpec): Promise<BatchingResults['saturation']> {
  o.log(`  saturation: MLP 256→1024×4 at concurrency ${SATURATION_CONCURRENCY}, node (max batch ${MAX_BATCH}, delay ${MAX_BATCH_DELAY_MS} ms) vs bare, ${o.rounds} alternating rounds`);
  const bareArm = await arm(bareAddress, mlpCall('bare', 'mlp'), SATURATION_CONCURRENCY, bareCpu, o.warmupMs);
  const nodeArm = await arm(node.address, mlpCall('node', 'mlp-batch'), SATURATION_CONCURRENCY, () => node.cpuMs(), o.warmupMs);
  const before = await node.metrics();
  try {
    const segmentMs = o.durationMs / o.rounds;
    for (let r = 0; r < o.rounds; r++) {
      for (const a of r % 2 === 0 ? [bareArm, nodeArm] : [nodeArm, bareArm]) await segment(a, segmentMs);
      o.log(`    round ${r + 1}/${o.rounds}: bare ${round(bareArm.rps.at(-1)!, 0)} req/s, node ${round(nodeArm.rps.at(-1)!, 0)} req/s`);
    }
  } finally {
    await bareArm.client.close();
    await nodeArm.client.close();
  }
  const after = await node.metrics();
  const bare = figures(bareArm);
  const nodeFigures = figures(nodeArm);
  const roundRatios = nodeArm.rps.map((v, i) => v / bareArm.rps[i]!);
  const sizes = batchSizes(before, after, 'mlp-batch');
  return {
    bare,
    node: nodeFigures,
    ratio: round(median(roundRatios)),
    roundRatios: roundRatios.map((v) => round(v)),
    p99Ratio: round(nodeFigures.p99Ms / bare.p99Ms),
    batchSizes: sizes.byBucket,
    meanBatchRows: sizes.meanRows,
  };
}

/** Creates a version with runtime settings, routes all traffic to it and waits until it is READY on every node. */
type Deploy = (model: string, bytes: Uint8Array, runtime?: Parameters<BenchCluster['createVersion']>[2]) => Promise<string>;

async function measureLowLoad(
  o: BatchingOptions,
  node: NodeProcess,
  deploy: Deploy,
): Promise<BatchingResults['lowLoad']> {
  o.log(`  low load: linear 3→1 at concurrency 1, batching on vs off (A/A: off vs off), ${o.rounds} rotating rounds`);
  const bytes = linearModel(LINEAR);
  await deploy('lin-off', bytes);
  await deploy('lin-off-2', bytes);
  await deploy('lin-on', bytes, { max_batch_size: MAX_BATCH });
  const call = (model: string) => inferCall(model, model, { name: 'x', shape: [1, 3], data: Float32Array.from([1, 2, 3]) });
  const cpu = () => node.cpuMs();
  const arms = [await arm(node.address, call('lin-off'), 1, cpu, o.warmupMs), await arm(node.address, call('lin-on'), 1, cpu, o.warmupMs), await arm(node.address, call('lin-off-2'), 1, cpu, o.warmupMs)];
  try {
    const segmentMs = o.durationMs / o.rounds;
    for (let r = 0; r < o.rounds; r++) {
      for (let i = 0; i < arms.length; i++) await segment(arms[(i + r) % arms.length]!, segmentMs);
    }
  } finally {
    for (const a of arms) await a.client.close();
  }
  const [off, on, offAgain] = arms as [Arm, Arm, Arm];
  const roundRatios = on.rps.map((v, i) => v / off.rps[i]!);
  return {
    off: figures(off),
    on: figures(on),
    offAgain: figures(offAgain),
    ratio: round(median(roundRatios)),
    aaRatio: round(median(offAgain.rps.map((v, i) => v / off.rps[i]!))),
    roundRatios: roundRatios.map((v) => round(v)),
  };
}

export async function measureOverload(
  o: BatchingOptions,
  node: NodeProcess,
  deploy: Deploy,
  mlpBytes: Uint8Array,
  mlpCall: (l: string, m: string) => CallSpec,
  capacity: number,
): Promise<BatchingResults['overload']> {
  const seconds = o.quick ? 2 : 10;
  const offered = capacity * OVERLOAD_FACTOR;
  o.log(`  overload: ${round(offered, 0)} req/s offered (${OVERLOAD_FACTOR}× ${round(capacity, 0)}) for ${seconds} s, queue time-out ${OVERLOAD_QUEUE_TIMEOUT_MS} ms, queue size ${OVERLOAD_QUEUE_SIZE}`);
  await deploy('mlp-queue', mlpBytes, { max_batch_size: MAX_BATCH, max_batch_delay_ms: MAX_BATCH_DELAY_MS, queue_timeout_ms: OVERLOAD_QUEUE_TIMEOUT_MS, queue_size: OVERLOAD_QUEUE_SIZE });
  const load = await LoadClient.start({
    target: node.address,
    mode: 'open-loop',
    calls: [mlpCall('overload', 'mlp-queue')],
    concurrency: OPEN_LOOP_MAX_OUTSTANDING,
    intervalMs: 0,
    ratePerSecond: offered,
    deadlineMs: 10_000,
  });
  const probe = await LoadClient.start({ target: node.address, mode: 'probe', calls: [healthCheckCall()], concurrency: 1, intervalMs: 20, deadlineMs: 10_000 });
  try {
    await load.run(o.warmupMs, 0);
    const before = await node.metrics();
    const [r, health] = await Promise.all([load.run(100, seconds * 1000), probe.run(100, seconds * 1000)]);
    const after = await node.metrics();
    const diff = (name: string, labels: Record<string, string>) => metricSum(after, name, labels) - metricSum(before, name, labels);
    const c = r.calls['overload']!;
    const admitted = summarize(c.latenciesMs);
    const h = summarize(health.calls['health']!.latenciesMs);
    const refusedByReason: Record<string, number> = {};
    for (const reason of ['queue_full', 'queue_timeout', 'deadline', 'cancelled']) {
      const n = diff('switchyard_queue_rejections_total', { model: 'mlp-queue', reason });
      if (n > 0) refusedByReason[reason] = n;
    }
    const mean = (name: string) => {
      const n = diff(`${name}_count`, { model: 'mlp-queue' });
      return n > 0 ? round((diff(`${name}_sum`, { model: 'mlp-queue' }) * 1000) / n) : 0;
    };
    const served = diff('switchyard_request_duration_seconds_count', { model: 'mlp-queue' });
    const within50 = diff('switchyard_request_duration_seconds_bucket', { model: 'mlp-queue', le: '0.05' });
    const runs = diff('switchyard_compute_duration_seconds_count', { model: 'mlp-queue' });
    const computeMs = runs > 0 ? (diff('switchyard_compute_duration_seconds_sum', { model: 'mlp-queue' }) * 1000) / runs : 0;
    return {
      capacityPerSecond: round(capacity, 1),
      offeredPerSecond: round(offered, 1),
      seconds,
      admitted: c.completed,
      refusedByTransport: c.skipped ?? 0,
      admittedP50Ms: round(admitted.p50Ms),
      admittedP99Ms: round(admitted.p99Ms),
      refused: c.errors,
      refusedByReason,
      queueTimeoutMs: OVERLOAD_QUEUE_TIMEOUT_MS,
      batchComputeMs: round(computeMs),
      boundMs: round(OVERLOAD_QUEUE_TIMEOUT_MS + computeMs),
      healthP50Ms: round(h.p50Ms),
      healthP99Ms: round(h.p99Ms),
      healthMaxMs: round(h.maxMs),
      nodeQueueMeanMs: mean('switchyard_queue_duration_seconds'),
      nodeRequestMeanMs: mean('switchyard_request_duration_seconds'),
      nodeOver50msShare: served > 0 ? round(1 - within50 / served, 4) : 0,
    };
  } finally {
    await load.close();
    await probe.close();
  }
}

async function measureShadowDrops(
  o: BatchingOptions,
  node: NodeProcess,
  deploy: Deploy,
  mlpBytes: Uint8Array,
  mlpCall: (l: string, m: string) => CallSpec,
  capacity: number,
  etcd: ReturnType<typeof createEtcdClient>,
): Promise<BatchingResults['shadow']> {
  const offered = capacity / 2;
  o.log(`  shadows: primary with a 100 % shadow, ${round(offered, 0)} req/s offered (half of ${round(capacity, 0)})`);
  const runtime = { max_batch_size: MAX_BATCH, max_batch_delay_ms: MAX_BATCH_DELAY_MS };
  await deploy('mlp-shadowed', mlpBytes, runtime);
  const shadowVersion = await o.cluster.createVersion('mlp-shadowed', mlpBytes, runtime);
  const admin = new ShadowAdmin({ state: new TargetStateStore({ etcd, keys: o.cluster.keys, logger: silentLogger() }), etcd, keys: o.cluster.keys, logger: silentLogger(), clock: systemClock });
  await admin.addShadow({ model: 'mlp-shadowed', version: shadowVersion, fraction: 1, until: '', duration_seconds: 0, budget: 0, auto: false, expected_revision: 0 });
  await o.cluster.watch!.waitReady('mlp-shadowed', shadowVersion, [node.id], 120_000);
  // The shadow is READY; give the node's table a moment to list it.
  await new Promise((r) => setTimeout(r, 500));
  const seconds = o.quick ? 2 : 10;
  const load = await LoadClient.start({
    target: node.address,
    mode: 'open-loop',
    calls: [mlpCall('shadowed', 'mlp-shadowed')],
    concurrency: OPEN_LOOP_MAX_OUTSTANDING,
    intervalMs: 0,
    ratePerSecond: offered,
    deadlineMs: 10_000,
  });
  try {
    await load.run(o.warmupMs, 0);
    const before = await node.metrics();
    const r = await load.run(100, seconds * 1000);
    // Shadow calls still queued settle (run or dropped) within their wait limit.
    await new Promise((res) => setTimeout(res, 500));
    const after = await node.metrics();
    const diff = (name: string) => metricSum(after, name, { model: 'mlp-shadowed' }) - metricSum(before, name, { model: 'mlp-shadowed' });
    const mirrored = diff('switchyard_shadow_mirrored_total');
    const dropped = diff('switchyard_shadow_dropped_total');
    return {
      offeredPerSecond: round(offered, 1),
      mirrored,
      dropped,
      dropShare: round(mirrored > 0 ? dropped / mirrored : 0, 4),
      primaryP99Ms: round(summarize(r.calls['shadowed']!.latenciesMs).p99Ms),
    };
  } finally {
    await load.close();
  }
}

/** Printable figures of (j). */
export function formatBatching(b: BatchingResults): string {
  const f = (p: PairFigures) => `${round(p.requestsPerSecond, 0)} req/s, p50 ${p.p50Ms} ms, p99 ${p.p99Ms} ms, ${p.cpuUsPerRequest} µs CPU/req`;
  const s = b.saturation;
  const sizes = Object.entries(s.batchSizes)
    .filter(([, n]) => n > 0)
    .map(([le, n]) => `${le}: ${n}`)
    .join(', ');
  const ov = b.overload;
  const shipped = b.shipped.flatMap((c) => [
    `  linear, c=${c.concurrency}: bare ${f(c.bare)}`,
    `              bare (A/A) ${f(c.bareAgain)}`,
    `              node as shipped ${f(c.node)}`,
    `              node, MALLOC_TRIM_THRESHOLD_ ${f(c.nodeThreshold)}`,
    `    node/bare ${c.nodeRatio} (CPU bare/node ${c.nodeCpuRatio}); with the threshold ${c.nodeThresholdRatio} (CPU ${c.nodeThresholdCpuRatio}); A/A bare/bare ${c.aaRatio}`,
  ]);
  return [
    '(j) Per-request cost and dynamic batching (node: switchyard node in its own process, as shipped)',
    ...shipped,
    `  MLP 256→1024×4, c=${SATURATION_CONCURRENCY}: bare ${f(s.bare)}`,
    `                       node ${f(s.node)}`,
    `    node/bare ${s.ratio} (rounds ${s.roundRatios.join(', ')}), p99 node/bare ${s.p99Ratio}; runs by rows ${sizes}; mean ${s.meanBatchRows} rows/run`,
    `  linear, c=1: off ${f(b.lowLoad.off)}`,
    `               on  ${f(b.lowLoad.on)}`,
    `               off ${f(b.lowLoad.offAgain)} (A/A)`,
    `    on/off ${b.lowLoad.ratio} (rounds ${b.lowLoad.roundRatios.join(', ')}), A/A off/off ${b.lowLoad.aaRatio}`,
    `  overload: ${round(ov.offeredPerSecond, 0)} req/s offered for ${ov.seconds} s (${OVERLOAD_FACTOR}× ${round(ov.capacityPerSecond, 0)}): admitted ${ov.admitted}, p50 ${ov.admittedP50Ms} ms, p99 ${ov.admittedP99Ms} ms ` +
      `(bound: queue time-out ${ov.queueTimeoutMs} ms + batch compute ${ov.batchComputeMs} ms = ${ov.boundMs} ms); refused by the node ${ov.refused} ${JSON.stringify(ov.refusedByReason)}, ` +
      `not sent (${OPEN_LOOP_MAX_OUTSTANDING} streams outstanding) ${ov.refusedByTransport}; ` +
      `health p50 ${ov.healthP50Ms} ms, p99 ${ov.healthP99Ms} ms, max ${ov.healthMaxMs} ms`,
    `    node side: queue wait mean ${ov.nodeQueueMeanMs} ms, decoded request to encoded response mean ${ov.nodeRequestMeanMs} ms, over 50 ms ${round(ov.nodeOver50msShare * 100, 2)} %`,
    `  shadows at half capacity (${round(b.shadow.offeredPerSecond, 0)} req/s): mirrored ${b.shadow.mirrored}, dropped ${b.shadow.dropped} (${round(b.shadow.dropShare * 100, 2)} %), primary p99 ${b.shadow.primaryP99Ms} ms`,
  ].join('\n');
}

/** The figures of (j) in the report: measurements only (every one > 0); shares and ratios are in the targets and details. */
export function batchingFigures(b: BatchingResults): Record<string, number> {
  return {
    mlpBareRequestsPerSecond: b.saturation.bare.requestsPerSecond,
    mlpNodeRequestsPerSecond: b.saturation.node.requestsPerSecond,
    mlpBareP99Ms: b.saturation.bare.p99Ms,
    mlpNodeP99Ms: b.saturation.node.p99Ms,
    mlpBareCpuUsPerRequest: b.saturation.bare.cpuUsPerRequest,
    mlpNodeCpuUsPerRequest: b.saturation.node.cpuUsPerRequest,
    meanBatchRows: b.saturation.meanBatchRows,
    linearOffRequestsPerSecond: b.lowLoad.off.requestsPerSecond,
    linearOnRequestsPerSecond: b.lowLoad.on.requestsPerSecond,
    overloadAdmittedP99Ms: b.overload.admittedP99Ms,
    overloadHealthP99Ms: b.overload.healthP99Ms,
  };
}

/** Targets of (j) (issue #17). */
export function batchingTargets(b: BatchingResults): { name: string; target: string; value: number; met: boolean }[] {
  return [
    ...b.shipped.map((c) => ({ name: `shipped node/bare linear c=${c.concurrency}`, target: '>= 0.95', value: c.nodeRatio, met: c.nodeRatio >= 0.95 })),
    { name: 'batching MLP c=32 node/bare throughput', target: '>= 2.5', value: b.saturation.ratio, met: b.saturation.ratio >= 2.5 },
    { name: 'batching MLP c=32 node/bare p99', target: '<= 1', value: b.saturation.p99Ratio, met: b.saturation.p99Ratio <= 1 },
    { name: 'batching linear c=1 on/off', target: '>= 0.97', value: b.lowLoad.ratio, met: b.lowLoad.ratio >= 0.97 },
    { name: 'overload p99 of admitted (ms)', target: `<= ${b.overload.boundMs} (queue time-out + one batch)`, value: b.overload.admittedP99Ms, met: b.overload.admittedP99Ms <= b.overload.boundMs },
  ];
}

