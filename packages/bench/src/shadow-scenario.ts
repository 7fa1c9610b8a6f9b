/**
 * (g) Shadow traffic: what mirroring every request to a shadow version
 * costs the primary. One node serves two models built from the same bytes:
 * `shadow-off` (one version) and `shadow-on` (the same, plus a second,
 * identical version as a 100 % shadow). Measured in alternating rounds like
 * the other scenarios:
 * - saturation: closed loop at concurrency 32, primary req/s with and
 *   without shadowing (shadows should be shed, target ≥ 0.9×);
 * - half capacity: a fixed offered rate of half the saturated req/s of
 *   `shadow-off` (many paced loops in one client process), primary p50/p99
 *   with and without shadowing (target p99 rise ≤ 5 %, no primary errors).
 * Mirrored, dropped and compared shadow calls come from the shadow report.
 */
import { createEtcdClient, silentLogger, systemClock, type ShadowPairReportMessage } from '@switchyard/core';
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
/** Paced loops of the half-capacity client: enough that one slow answer does not stall the offered rate. */
const PACED_LOOPS = 16;

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
}

export interface ShadowResults {
  saturation: { off: ThroughputCell; on: ThroughputCell; ratio: number; roundRatios: number[]; shadow: ShadowCounts };
  halfCapacity: { offeredPerSecond: number; off: PacedFigures; on: PacedFigures; p99Ratio: number; p50Ratio: number; shadow: ShadowCounts };
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

/** Both models at a fixed offered rate, alternating; latencies pooled per model. */
async function measurePaced(
  o: ShadowOptions,
  address: string,
  offeredPerSecond: number,
): Promise<{ off: PacedFigures; on: PacedFigures; p99Ratio: number; p50Ratio: number }> {
  // Each loop pauses ~intervalMs (jittered ±50 %) after its answer; at half
  // capacity an answer takes well under a millisecond, so the loops together
  // offer close to PACED_LOOPS / intervalMs calls per ms.
  const intervalMs = Math.max(0.5, (PACED_LOOPS * 1000) / offeredPerSecond);
  const models = ['shadow-off', 'shadow-on'] as const;
  const clients: Partial<Record<(typeof models)[number], LoadClient>> = {};
  const latencies: Record<string, number[]> = { 'shadow-off': [], 'shadow-on': [] };
  const totals: Record<string, { completed: number; windowMs: number; errors: number }> = {
    'shadow-off': { completed: 0, windowMs: 0, errors: 0 },
    'shadow-on': { completed: 0, windowMs: 0, errors: 0 },
  };
  try {
    for (const model of models) {
      const calls = Array.from({ length: PACED_LOOPS }, (_, i) => o.call(`loop${i}`, model));
      const client = await LoadClient.start({ target: address, mode: 'probe', calls, concurrency: 1, intervalMs, deadlineMs: 10_000 });
      clients[model] = client;
      await client.run(o.warmupMs, 0);
    }
    const segmentMs = o.durationMs / o.rounds;
    for (let r = 0; r < o.rounds; r++) {
      const order = r % 2 === 0 ? models : ([...models].reverse() as unknown as typeof models);
      for (const model of order) {
        const result = await clients[model]!.run(Math.min(100, o.warmupMs), segmentMs);
        let completed = 0;
        for (const call of Object.values(result.calls)) {
          completed += call.completed;
          totals[model]!.errors += call.errors;
          latencies[model]!.push(...call.latenciesMs);
          if (call.sampleResponseBase64) checkClose(`${model} output`, inferOutput(call.sampleResponseBase64, o.expected.output), o.expected.values);
        }
        totals[model]!.completed += completed;
        totals[model]!.windowMs += result.windowMs;
      }
    }
  } finally {
    await Promise.all(Object.values<LoadClient | undefined>(clients).map((c) => c?.close()));
  }
  const figures = (model: string): PacedFigures => {
    const s = summarize(latencies[model]!);
    const t = totals[model]!;
    return { requestsPerSecond: round(t.completed / (t.windowMs / 1000), 1), p50Ms: round(s.p50Ms), p99Ms: round(s.p99Ms), requests: t.completed, errors: t.errors };
  };
  const off = figures('shadow-off');
  const on = figures('shadow-on');
  return { off, on, p99Ratio: round(on.p99Ms / off.p99Ms), p50Ratio: round(on.p50Ms / off.p50Ms) };
}
