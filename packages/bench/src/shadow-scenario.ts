/**
 * (g) Shadow traffic: what mirroring every request to a shadow version
 * costs the primary. One node serves two models built from the same bytes:
 * `shadow-off` (one version) and `shadow-on` (the same, plus a second,
 * identical version as a 100 % shadow). Measured in alternating rounds like
 * the other scenarios:
 * - saturation: closed loop at concurrency 32, primary req/s with and
 *   without shadowing (shadows should be shed, target ≥ 0.9×);
 * - half capacity: an open-loop client (Poisson arrivals, sent whether or
 *   not earlier calls have answered) at half the saturated req/s of
 *   `shadow-off`, primary p50/p99 with and without shadowing (target p99
 *   rise ≤ 5 %, no primary errors).
 * Mirrored, dropped and compared shadow calls come from the shadow report.
 */
import { constants, PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks';
import { systemClock, type ShadowPairReportMessage } from '@switchyard/core';
import { createEtcdClient } from '@switchyard/core/etcd';
import { silentLogger } from '@switchyard/core/logging';
import { ShadowAdmin, TargetStateStore } from '@switchyard/control-plane';
import type { BenchCluster } from './bench-cluster.js';
import type { CallSpec } from './load-protocol.js';
import { LoadClient } from './load-runner.js';
import { checkClose, inferOutput } from './requests.js';
import { round, summarize } from './stats.js';
import { measureRouted, type ThroughputCell } from './throughput.js';

export const SHADOW_P99_RISE_TARGET = 1.05;
export const SHADOW_SATURATION_TARGET = 0.9;
const SATURATION_CONCURRENCY = 32;
/** Outstanding calls the half-capacity client allows before it counts arrivals as skipped. */
const OPEN_LOOP_MAX_OUTSTANDING = 256;
/** Unrecorded time after the paced client switches model: longer than a shadow call may wait (maxWaitMs 250). */
const SWITCH_SETTLE_MS = 300;
/** The half-capacity phase measures this many times `--duration` per model. */
const PACED_DURATION_FACTOR = 3;

/** Shadow calls over one phase, from the report. */
export interface ShadowCounts {
  mirrored: number;
  dropped: number;
  compared: number;
  agreed: number;
  failed: number;
}

export interface PacedFigures {
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  requests: number;
  errors: number;
  /** Arrivals not sent because the client already had its maximum outstanding (the node fell behind). */
  skipped: number;
  /** CPU of the node's process per answered call, µs (shadow runs included). */
  serverCpuUsPerRequest: number;
  /** The node process's GC pauses per second of the phase, ms. */
  gcPauseMsPerSecond: number;
  /** Mark-compact collections during the phase. */
  majorGcs: number;
  /** The load client's own GC pauses per second of the phase, and the longest, ms. */
  clientGcMsPerSecond: number;
  clientGcMaxMs: number;
}

export interface ShadowResults {
  saturation: { off: ThroughputCell; on: ThroughputCell; ratio: number; roundRatios: number[]; shadow: ShadowCounts };
  halfCapacity: { offeredPerSecond: number; shadow: ShadowCounts } & PacedResults;
}

export interface ShadowOptions {
  cluster: BenchCluster;
  bytes: Uint8Array;
  /** An unversioned ModelInfer call of `model` (the bench's linear input). */
  call: (label: string, model: string) => CallSpec;
  expected: { output: string; values: number[] };
  warmupMs: number;
  durationMs: number;
  rounds: number;
  log: (line: string) => void;
}

function counts(after: ShadowPairReportMessage | undefined, before: ShadowPairReportMessage | undefined): ShadowCounts {
  const n = (p: ShadowPairReportMessage | undefined, f: (p: ShadowPairReportMessage) => unknown): number => (p ? Number(f(p)) : 0);
  const d = (f: (p: ShadowPairReportMessage) => unknown): number => n(after, f) - n(before, f);
  return {
    mirrored: d((p) => p.mirrored),
    dropped: d((p) => p.dropped),
    compared: d((p) => p.compared),
    agreed: d((p) => p.agreed),
    failed: d((p) => Number(p.failed_error) + Number(p.failed_timeout) + Number(p.failed_shape)),
  };
}

export async function measureShadow(o: ShadowOptions): Promise<ShadowResults> {
  const node = o.cluster.nodes[0]!;
  const etcd = createEtcdClient({ endpoints: o.cluster.etcd.endpoint });
  try {
    // The control plane's own shadow code, in process: the bench cluster keeps its admin client to itself.
    const admin = new ShadowAdmin({
      state: new TargetStateStore({ etcd, keys: o.cluster.keys, logger: silentLogger() }),
      etcd,
      keys: o.cluster.keys,
      logger: silentLogger(),
      clock: systemClock,
    });
    await o.cluster.deploy('shadow-off', o.bytes);
    const primary = await o.cluster.deploy('shadow-on', o.bytes);
    const shadow = await o.cluster.createVersion('shadow-on', o.bytes);
    await admin.addShadow({ model: 'shadow-on', version: shadow, fraction: 1, until: '', duration_seconds: 0, budget: 0, auto: false, expected_revision: 0 });
    const deadline = Date.now() + 60_000;
    while (!node.table.versions.has(`shadow-on/${shadow}`)) {
      if (Date.now() > deadline) throw new Error(`node 1 did not load shadow-on/${shadow} within 60 s`);
      await new Promise((r) => setTimeout(r, 20));
    }
    const snapshot = async (): Promise<ShadowPairReportMessage | undefined> => {
      // Settle what is queued, then publish and read the summed figures.
      await new Promise((r) => setTimeout(r, 200));
      await node.statsPublisher.tick();
      return (await admin.getShadowReport({ model: 'shadow-on' })).pairs.find((p) => p.primary === primary && p.shadow === shadow);
    };

    o.log(`  saturation: closed loop at concurrency ${SATURATION_CONCURRENCY}, ${o.rounds} alternating rounds`);
    const s0 = await snapshot();
    const saturated = await measureRouted({
      address: node.address,
      calls: { single: o.call('infer', 'shadow-off'), split: o.call('infer', 'shadow-on') },
      splits: [],
      concurrencies: [SATURATION_CONCURRENCY],
      expected: o.expected,
      warmupMs: o.warmupMs,
      durationMs: o.durationMs,
      rounds: o.rounds,
      log: (line) => o.log(line.replace('single', 'off').replace('split', 'on')),
    });
    const s1 = await snapshot();
    const off = saturated.single[0]!;
    const on = saturated.split[0]!;
    const comparison = saturated.comparisons[0]!;

    const offered = off.requestsPerSecond / 2;
    o.log(`  half capacity: ${round(offered, 0)} req/s offered (half of ${round(off.requestsPerSecond, 0)}), ${o.rounds} alternating rounds`);
    const half = await measurePaced(o, node.address, offered);
    const s2 = await snapshot();
    return {
      saturation: { off, on, ratio: comparison.ratio, roundRatios: comparison.roundRatios, shadow: counts(s1, s0) },
      halfCapacity: { offeredPerSecond: round(offered, 1), ...half, shadow: counts(s2, s1) },
    };
  } finally {
    etcd.close();
  }
}

/**
 * The paced arms: `on`, and `off` measured twice (`off-a`, `off-b`) in
 * separate segments, so one run also shows how far two identical
 * measurements differ here (the A/A ratio), the floor below which a p99
 * change is noise. The baseline pools both.
 */
const ARMS = [
  { label: 'off-a', model: 'shadow-off' },
  { label: 'on', model: 'shadow-on' },
  { label: 'off-b', model: 'shadow-off' },
] as const;
type Arm = (typeof ARMS)[number]['label'];

interface ArmTotals {
  latencies: number[];
  roundP99: number[];
  completed: number;
  windowMs: number;
  errors: number;
  skipped: number;
  cpuMs: number;
  total: number;
  gcMs: number;
  majorGcs: number;
  clientGcMs: number;
  clientGcMaxMs: number;
}

/** Both models at a fixed offered rate, alternating; latencies pooled per arm. */
async function measurePaced(o: ShadowOptions, address: string, offeredPerSecond: number): Promise<PacedResults> {
  let client: LoadClient | undefined;
  const arms = Object.fromEntries(
    ARMS.map((a) => [
      a.label,
      { latencies: [], roundP99: [], completed: 0, windowMs: 0, errors: 0, skipped: 0, cpuMs: 0, total: 0, gcMs: 0, majorGcs: 0, clientGcMs: 0, clientGcMaxMs: 0 },
    ]),
  ) as unknown as Record<Arm, ArmTotals>;
  // The node runs in this process: its GC pauses, by the arm they fell in.
  let current: Arm | undefined;
  const observer = new PerformanceObserver((list) => {
    if (current === undefined) return;
    for (const entry of list.getEntries()) {
      arms[current].gcMs += entry.duration;
      if ((entry as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) arms[current].majorGcs++;
    }
  });
  observer.observe({ entryTypes: ['gc'] });
  try {
    // One client and one connection for every arm: the offered load never
    // pauses between segments, only the model it names changes, so all arms
    // see the same machine; the first SWITCH_SETTLE_MS after a change
    // (shadow work of the previous segment still draining) is not recorded.
    client = await LoadClient.start({
      target: address,
      mode: 'open-loop',
      calls: ARMS.map((a) => o.call(a.label, a.model)),
      concurrency: OPEN_LOOP_MAX_OUTSTANDING,
      intervalMs: 0,
      ratePerSecond: offeredPerSecond,
      deadlineMs: 10_000,
    });
    for (const arm of ARMS) await client.run(o.warmupMs, 0, [arm.label]);
    // A p99 rests on the slowest 1 %: three times the usual duration, so a
    // few scheduler hiccups on a shared machine do not decide it alone.
    const segmentMs = (PACED_DURATION_FACTOR * o.durationMs) / o.rounds;
    for (let r = 0; r < o.rounds; r++) {
      // Rotated, so every arm runs first, second and third equally often.
      const order = ARMS.map((_, i) => ARMS[(i + r) % ARMS.length]!);
      for (const { label, model } of order) {
        const arm = arms[label];
        // The node runs in this process: its CPU over the segment, settling included, per call answered.
        const cpuAtStart = process.cpuUsage();
        current = label;
        const result = await client.run(SWITCH_SETTLE_MS, segmentMs, [label]);
        const cpu = process.cpuUsage(cpuAtStart);
        current = undefined;
        arm.cpuMs += (cpu.user + cpu.system) / 1000;
        const call = result.calls[label]!;
        arm.completed += call.completed;
        arm.total += call.total;
        arm.errors += call.errors;
        arm.skipped += call.skipped ?? 0;
        arm.latencies.push(...call.latenciesMs);
        arm.roundP99.push(summarize(call.latenciesMs).p99Ms);
        arm.windowMs += result.windowMs;
        arm.clientGcMs += result.gcMs;
        arm.clientGcMaxMs = Math.max(arm.clientGcMaxMs, result.gcMaxMs);
        if (call.sampleResponseBase64) checkClose(`${model} output`, inferOutput(call.sampleResponseBase64, o.expected.output), o.expected.values);
      }
    }
  } finally {
    observer.disconnect();
    await client?.close();
  }
  const figures = (...parts: ArmTotals[]): PacedFigures => {
    const sum = (f: (a: ArmTotals) => number): number => parts.reduce((s, a) => s + f(a), 0);
    const s = summarize(parts.flatMap((a) => a.latencies));
    const windowMs = sum((a) => a.windowMs);
    return {
      requestsPerSecond: round(sum((a) => a.completed) / (windowMs / 1000), 1),
      p50Ms: round(s.p50Ms),
      p99Ms: round(s.p99Ms),
      requests: sum((a) => a.completed),
      errors: sum((a) => a.errors),
      skipped: sum((a) => a.skipped),
      serverCpuUsPerRequest: round((sum((a) => a.cpuMs) * 1000) / Math.max(1, sum((a) => a.total)), 1),
      gcPauseMsPerSecond: round(sum((a) => a.gcMs) / (windowMs / 1000), 2),
      majorGcs: sum((a) => a.majorGcs),
      clientGcMsPerSecond: round(sum((a) => a.clientGcMs) / (windowMs / 1000), 2),
      clientGcMaxMs: round(Math.max(...parts.map((a) => a.clientGcMaxMs)), 2),
    };
  };
  const off = figures(arms['off-a'], arms['off-b']);
  const on = figures(arms.on);
  const offA = figures(arms['off-a']);
  const offB = figures(arms['off-b']);
  const roundP99Ratios = arms.on.roundP99.map((p, i) => round(p / ((arms['off-a'].roundP99[i]! + arms['off-b'].roundP99[i]!) / 2)));
  return {
    off,
    on,
    p99Ratio: round(on.p99Ms / off.p99Ms),
    p50Ratio: round(on.p50Ms / off.p50Ms),
    aaP99Ratio: round(offB.p99Ms / offA.p99Ms),
    roundP99Ratios,
  };
}

interface PacedResults {
  /** Both off arms pooled. */
  off: PacedFigures;
  on: PacedFigures;
  p99Ratio: number;
  p50Ratio: number;
  /** p99 of off-b ÷ off-a: two measurements of the same thing, the noise floor of p99Ratio in this run. */
  aaP99Ratio: number;
  /** Per round: p99 of on ÷ the mean p99 of the round's two off segments. */
  roundP99Ratios: number[];
}
