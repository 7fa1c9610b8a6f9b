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
import { checkClose, inferOutput, inferVersion } from './requests.js';
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

/** node vs bare (or split vs single) at one concurrency. */
export interface Comparison {
  concurrency: number;
  /** Median over rounds of node req/s ÷ bare req/s of the same round (split ÷ single). */
  ratio: number;
  /** Pooled node req/s ÷ pooled bare req/s (split ÷ single). */
  pooledRatio: number;
  roundRatios: number[];
  /** Median over rounds of bare CPU/request ÷ node CPU/request (single ÷ split). */
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
  /** model_version of the one response decoded in this segment. */
  sampleVersion: string;
}

interface SegmentOptions {
  calls: Record<string, CallSpec>;
  expected: { output: string; values: number[] };
  warmupMs: number;
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

async function segment(o: SegmentOptions, client: LoadClient, name: string, concurrency: number, segmentMs: number): Promise<Segment> {
  // The servers run in this process: its CPU time from "go" to the result is
  // theirs, for every call served (settling and tail included).
  const machineStart = sampleCpu();
  const cpuStart = process.cpuUsage();
  const startedAt = performance.now();
  const r = await client.run(Math.min(SETTLE_MS, o.warmupMs), segmentMs);
  const used = process.cpuUsage(cpuStart);
  const elapsedMs = performance.now() - startedAt;
  const machine = busyCores(machineStart, sampleCpu());
  const calls = r.calls[o.calls[name]!.label]!;
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
    sampleVersion: inferVersion(calls.sampleResponseBase64),
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

/** Two load targets measured against each other: A is the reference, B the one under test. */
interface Pair<A extends string, B extends string> {
  names: readonly [A, B];
  addresses: Record<A | B, string>;
  calls: Record<A | B, CallSpec>;
}

interface PairResult<A extends string, B extends string> {
  cells: Record<A | B, ThroughputCell[]>;
  comparisons: Comparison[];
  /** Per concurrency: model_version of the sampled response of each of B's segments. */
  sampledVersions: Record<string, string[]>;
}

/**
 * Measures B against A in alternating rounds (AB, BA, AB, …) per concurrency;
 * the ratio is the median of B/A over the rounds, cpuRatio that of A's CPU per
 * request ÷ B's.
 */
async function measurePair<A extends string, B extends string>(
  o: Omit<ThroughputOptions, 'targets' | 'call'>,
  pair: Pair<A, B>,
): Promise<PairResult<A, B>> {
  const [a, b] = pair.names;
  const result: PairResult<A, B> = { cells: { [a]: [], [b]: [] } as unknown as Record<A | B, ThroughputCell[]>, comparisons: [], sampledVersions: {} };
  const seg: SegmentOptions = { calls: pair.calls, expected: o.expected, warmupMs: o.warmupMs };
  const segmentMs = o.durationMs / o.rounds;
  for (const concurrency of o.concurrencies) {
    const runs = { [a]: [], [b]: [] } as unknown as Record<A | B, Segment[]>;
    const clients: Partial<Record<A | B, LoadClient>> = {};
    try {
      for (const name of pair.names) {
        const client = await LoadClient.start({
          target: pair.addresses[name],
          mode: 'closed-loop',
          calls: [pair.calls[name]],
          concurrency,
          intervalMs: 0,
          deadlineMs: 10_000,
        });
        clients[name] = client;
        await client.run(o.warmupMs, 0);
      }
      for (let r = 0; r < o.rounds; r++) {
        const order: (A | B)[] = r % 2 === 0 ? [a, b] : [b, a];
        for (const name of order) runs[name].push(await segment(seg, clients[name]!, name, concurrency, segmentMs));
        const [x, y] = [runs[a].at(-1)!, runs[b].at(-1)!];
        o.log(
          `  c=${String(concurrency).padStart(2)} round ${String(r + 1).padStart(2)}/${o.rounds}: ${a} ${round(x.rps, 0)} req/s ` +
            `${round((x.serverCpuMs * 1000) / x.calls, 1)} µs CPU/req, ${b} ${round(y.rps, 0)} req/s ${round((y.serverCpuMs * 1000) / y.calls, 1)} µs CPU/req` +
            (x.otherCores === undefined || y.otherCores === undefined ? '' : `, other processes ${round((x.otherCores + y.otherCores) / 2, 2)} cores`),
        );
      }
    } finally {
      await Promise.all(Object.values<LoadClient | undefined>(clients).map((c) => c?.close()));
    }
    const cellA = cell(concurrency, runs[a]);
    const cellB = cell(concurrency, runs[b]);
    result.cells[a].push(cellA);
    result.cells[b].push(cellB);
    result.sampledVersions[`c${concurrency}`] = runs[b].map((s) => s.sampleVersion);
    const roundRatios = runs[b].map((y, i) => y.rps / runs[a][i]!.rps);
    const cpuRatios = runs[b].map((y, i) => runs[a][i]!.serverCpuMs / runs[a][i]!.calls / (y.serverCpuMs / y.calls));
    const other = [...runs[a], ...runs[b]].map((s) => s.otherCores).filter((v): v is number => v !== undefined);
    result.comparisons.push({
      concurrency,
      ratio: round(median(roundRatios)),
      pooledRatio: round(cellB.requestsPerSecond / cellA.requestsPerSecond),
      roundRatios: roundRatios.map((v) => round(v)),
      cpuRatio: round(median(cpuRatios)),
      ...(other.length > 0
        ? { otherCoresMean: round(other.reduce((x, y) => x + y, 0) / other.length, 2), otherCoresMax: round(Math.max(...other), 2) }
        : {}),
    });
  }
  return result;
}

export async function measureThroughput(o: ThroughputOptions): Promise<ThroughputResults> {
  const r = await measurePair(o, { names: ['bare', 'node'], addresses: o.targets, calls: { bare: o.call, node: o.call } });
  return { bare: r.cells.bare, node: r.cells.node, comparisons: r.comparisons };
}

/** The routed scenario: one node, a model with one version vs one split 3 ways. */
export interface RoutedResults {
  single: ThroughputCell[];
  split: ThroughputCell[];
  /** split vs single: `ratio` is split req/s ÷ single req/s, `cpuRatio` single CPU/request ÷ split CPU/request. */
  comparisons: Comparison[];
  /** The route of `split`, as set. */
  splits: { version: string; weight: number }[];
  /** Per concurrency: model_version of one sampled `split` response per round. */
  sampledVersions: Record<string, string[]>;
}

export interface RoutedOptions extends Omit<ThroughputOptions, 'targets' | 'call'> {
  /** The node both models are served from. */
  address: string;
  /** Unversioned ModelInfer calls to `single` and to `split`. */
  calls: { single: CallSpec; split: CallSpec };
  splits: { version: string; weight: number }[];
}

export async function measureRouted(o: RoutedOptions): Promise<RoutedResults> {
  const r = await measurePair(o, { names: ['single', 'split'], addresses: { single: o.address, split: o.address }, calls: o.calls });
  return { single: r.cells.single, split: r.cells.split, comparisons: r.comparisons, splits: o.splits, sampledVersions: r.sampledVersions };
}
