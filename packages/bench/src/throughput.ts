/**
 * (a)–(c): requests/s and latency of the prediction node and of the bare
 * grpc-js + onnxruntime server, each driven by its own load-client process
 * (connected once, warmed up once). The two targets are measured in many
 * short alternating segments, ordered A B, B A, A B, … so drifts of this
 * shared machine hit both alike, and the node/bare ratio is the median of
 * the per-round ratios, so a round disturbed by other work on the machine
 * does not decide it.
 */
import type { CallSpec } from './load-protocol.js';
import { LoadClient } from './load-runner.js';
import { busyCores, sampleCpu } from './machine-load.js';
import { checkClose, inferOutput } from './requests.js';
import { round, summarize } from './stats.js';

export interface Target {
  name: 'bare' | 'node';
  address: string;
}

/** One target at one concurrency: pooled over its rounds. */
export interface ThroughputCell {
  concurrency: number;
  /** Calls completed in all measured windows ÷ their total length. */
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  requests: number;
  /**
   * CPU time of the server's process per request (user + system, µs, warm-up
   * included): its cost, independent of how fast the client drove it.
   */
  serverCpuUsPerRequest: number;
  /** Cores the load client used; near 1 would mean the client set the pace. */
  clientCores: number;
  roundRps: number[];
  roundCpuUs: number[];
}

/** node vs bare at one concurrency. */
export interface Comparison {
  concurrency: number;
  /** Median over rounds of node req/s ÷ bare req/s of the same round. */
  ratio: number;
  /** Pooled node req/s ÷ pooled bare req/s. */
  pooledRatio: number;
  roundRatios: number[];
  /** Median over rounds of bare CPU/request ÷ node CPU/request. */
  cpuRatio: number;
  /** Cores other processes kept busy during the segments (mean, max); absent off Linux. */
  otherCoresMean?: number;
  otherCoresMax?: number;
}

export interface ThroughputResults {
  bare: ThroughputCell[];
  node: ThroughputCell[];
  comparisons: Comparison[];
}

export interface ThroughputOptions {
  targets: { bare: string; node: string };
  concurrencies: number[];
  call: CallSpec;
  /** What the output must be, to catch a server that answers fast but wrong. */
  expected: { output: string; values: number[] };
  /** Unrecorded load on each fresh connection before its first round. */
  warmupMs: number;
  /** Measured time per target and concurrency, split over the rounds. */
  durationMs: number;
  rounds: number;
  log: (line: string) => void;
}

/** Unrecorded lead-in of every segment: the loops start from zero calls in flight. */
const SETTLE_MS = 100;

interface Segment {
  rps: number;
  completed: number;
  windowMs: number;
  latenciesMs: number[];
  serverCpuMs: number;
  calls: number;
  clientCores: number;
  otherCores: number | undefined;
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

async function segment(o: ThroughputOptions, client: LoadClient, name: Target['name'], concurrency: number, segmentMs: number): Promise<Segment> {
  // The servers run in this process: its CPU time from "go" to the result is
  // theirs, for every call served (settling and tail included).
  const machineStart = sampleCpu();
  const cpuStart = process.cpuUsage();
  const startedAt = performance.now();
  const r = await client.run(Math.min(SETTLE_MS, o.warmupMs), segmentMs);
  const used = process.cpuUsage(cpuStart);
  const elapsedMs = performance.now() - startedAt;
  const machine = busyCores(machineStart, sampleCpu());
  const calls = r.calls[o.call.label]!;
  if (calls.errors > 0) throw new Error(`${name} at concurrency ${concurrency}: ${calls.errors} failed calls, first: ${calls.firstError}`);
  if (!calls.sampleResponseBase64 || calls.completed === 0) throw new Error(`${name} at concurrency ${concurrency}: no response in the window`);
  checkClose(`${name} output`, inferOutput(calls.sampleResponseBase64, o.expected.output), o.expected.values);
  const serverCpuMs = (used.user + used.system) / 1000;
  const clientCores = r.cpuMs / r.totalMs;
  return {
    rps: calls.completed / (r.windowMs / 1000),
    completed: calls.completed,
    windowMs: r.windowMs,
    latenciesMs: calls.latenciesMs,
    serverCpuMs,
    calls: calls.total,
    clientCores,
    otherCores: machine === undefined ? undefined : Math.max(0, machine - serverCpuMs / elapsedMs - clientCores),
  };
}

function cell(concurrency: number, segments: Segment[]): ThroughputCell {
  const completed = segments.reduce((s, x) => s + x.completed, 0);
  const windowMs = segments.reduce((s, x) => s + x.windowMs, 0);
  const latency = summarize(segments.flatMap((x) => x.latenciesMs));
  const cpuMs = segments.reduce((s, x) => s + x.serverCpuMs, 0);
  const calls = segments.reduce((s, x) => s + x.calls, 0);
  return {
    concurrency,
    requestsPerSecond: round(completed / (windowMs / 1000), 1),
    p50Ms: round(latency.p50Ms),
    p99Ms: round(latency.p99Ms),
    requests: completed,
    serverCpuUsPerRequest: round((cpuMs * 1000) / calls, 1),
    clientCores: round(segments.reduce((s, x) => s + x.clientCores, 0) / segments.length, 2),
    roundRps: segments.map((x) => round(x.rps, 1)),
    roundCpuUs: segments.map((x) => round((x.serverCpuMs * 1000) / x.calls, 1)),
  };
}

export async function measureThroughput(o: ThroughputOptions): Promise<ThroughputResults> {
  const results: ThroughputResults = { bare: [], node: [], comparisons: [] };
  const segmentMs = o.durationMs / o.rounds;
  for (const concurrency of o.concurrencies) {
    const runs: Record<Target['name'], Segment[]> = { bare: [], node: [] };
    const clients: Partial<Record<Target['name'], LoadClient>> = {};
    try {
      for (const name of ['bare', 'node'] as const) {
        const client = await LoadClient.start({
          target: o.targets[name],
          mode: 'closed-loop',
          calls: [o.call],
          concurrency,
          intervalMs: 0,
          deadlineMs: 10_000,
        });
        clients[name] = client;
        await client.run(o.warmupMs, 0);
      }
      for (let r = 0; r < o.rounds; r++) {
        const order: Target['name'][] = r % 2 === 0 ? ['bare', 'node'] : ['node', 'bare'];
        for (const name of order) runs[name].push(await segment(o, clients[name]!, name, concurrency, segmentMs));
        const [b, n] = [runs.bare.at(-1)!, runs.node.at(-1)!];
        o.log(
          `  c=${String(concurrency).padStart(2)} round ${String(r + 1).padStart(2)}/${o.rounds}: bare ${round(b.rps, 0)} req/s ` +
            `${round((b.serverCpuMs * 1000) / b.calls, 1)} µs CPU/req, node ${round(n.rps, 0)} req/s ${round((n.serverCpuMs * 1000) / n.calls, 1)} µs CPU/req` +
            (b.otherCores === undefined || n.otherCores === undefined ? '' : `, other processes ${round((b.otherCores + n.otherCores) / 2, 2)} cores`),
        );
      }
    } finally {
      await Promise.all(Object.values(clients).map((c) => c.close()));
    }
    const bare = cell(concurrency, runs.bare);
    const node = cell(concurrency, runs.node);
    results.bare.push(bare);
    results.node.push(node);
    const roundRatios = runs.node.map((n, i) => n.rps / runs.bare[i]!.rps);
    const cpuRatios = runs.node.map((n, i) => runs.bare[i]!.serverCpuMs / runs.bare[i]!.calls / (n.serverCpuMs / n.calls));
    const other = [...runs.bare, ...runs.node].map((s) => s.otherCores).filter((v): v is number => v !== undefined);
    results.comparisons.push({
      concurrency,
      ratio: round(median(roundRatios)),
      pooledRatio: round(node.requestsPerSecond / bare.requestsPerSecond),
      roundRatios: roundRatios.map((v) => round(v)),
      cpuRatio: round(median(cpuRatios)),
      ...(other.length > 0
        ? { otherCoresMean: round(other.reduce((a, b) => a + b, 0) / other.length, 2), otherCoresMax: round(Math.max(...other), 2) }
        : {}),
    });
  }
  return results;
}
