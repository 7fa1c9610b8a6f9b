/** The bench's results: the JSON document and the human-readable table. */
import type { DeployResult } from './deploy-latency.js';
import type { RegistrationResult } from './registration.js';
import type { ThreadFigures } from './inference-thread.js';
import type { RoutedResults, ThroughputCell, ThroughputResults } from './throughput.js';
import { round } from './stats.js';
import { formatShadow, shadowFigures, shadowTargets, type ShadowFigures } from './shadow-report.js';
import type { ShadowResults } from './shadow-scenario.js';
import { formatMemory, memoryFigures, memoryTargets, type MemoryFigures } from './memory-report.js';
import type { MemoryResults } from './memory-scenario.js';
import { formatDensity, type DensityResults } from './density-scenario.js';
import { formatRest, restFigures, type RestResults } from './rest-scenario.js';
import { batchingFigures, batchingTargets, formatBatching, type BatchingResults } from './batching-scenario.js';
import { formatScale, scaleFigures, scaleTargets, type ScaleFigures } from './scale-report.js';
import type { ScaleResults } from './scale-scenario.js';

export const RATIO_TARGET = 0.95;
/** Routed scenario: split requests/s ÷ single requests/s. */
export const ROUTED_RATIO_TARGET = 0.97;
export const DEPLOY_P99_TARGET_MS = 300;
/** Issue #15: versions registered per second with deploy-time validation. */
export const REGISTRATION_TARGET = 50;
/** Above this many cores of other work during the throughput segments, the table warns. */
export const BUSY_MACHINE_CORES = 0.25;

export interface LoadFigures {
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** CPU of the server process per request, µs. */
  serverCpuUsPerRequest: number;
}

export interface ThreadPhaseFigures {
  loopLagP99Ms: number;
  loopLagMaxMs: number;
  healthP50Ms: number;
  healthP99Ms: number;
  healthMaxMs: number;
  serverLiveP99Ms: number;
  modelRunMs?: number;
  requestsPerSecond?: number;
  inferP50Ms?: number;
  inferP99Ms?: number;
}

export interface TargetCheck {
  name: string;
  target: string;
  value: number;
  met: boolean;
}

/** Everything a run produces. Every number under `figures` is a measurement (> 0); compare them across commits. */
export interface BenchReport {
  schema: 1;
  meta: Record<string, unknown>;
  figures: {
    throughput?: {
      bare: Record<string, LoadFigures>;
      node: Record<string, LoadFigures>;
      /** node requests/s ÷ bare requests/s, per concurrency: median over the alternating rounds. */
      ratio: Record<string, number>;
      /** bare CPU per request ÷ node CPU per request (median over rounds): the same comparison in CPU instead of time. */
      cpuRatio: Record<string, number>;
    };
    /** One node: model `single` (one version) vs model `split` (three versions of it at 50/30/20 %), unversioned requests. */
    routed?: {
      single: Record<string, LoadFigures>;
      split: Record<string, LoadFigures>;
      /** split requests/s ÷ single requests/s, per concurrency: median over the alternating rounds. */
      ratio: Record<string, number>;
      /** single CPU per request ÷ split CPU per request (median over rounds). */
      cpuRatio: Record<string, number>;
    };
    deployToReady?: { p50Ms: number; p99Ms: number; maxMs: number };
    /** (i) Versions registered (upload + CreateVersion with validation) per second. */
    registration?: { versionsPerSecond: number; p50Ms: number; p99Ms: number };
    inferenceThread?: Record<string, ThreadPhaseFigures>;
    /** (g) Shadow traffic: primary figures with 0 % and 100 % shadowing. */
    shadow?: ShadowFigures;
    /** (h) RSS of a node process around retirement, and over load/unload cycles. */
    memory?: MemoryFigures;
    /** (j) Dynamic batching and the node as shipped (issue #17). */
    batching?: Record<string, number>;
    /** (k) REST vs gRPC requests/s and their ratio to gRPC, per concurrency and variant. */
    rest?: ReturnType<typeof restFigures>;
    /** (l) Registry scale: restart to serving, admin and CLI latency, CPU per change, /metrics size. */
    scale?: ScaleFigures;
  };
  targets: TargetCheck[];
  details: Scenarios;
}

/** What each scenario measured; a scenario left out with --only is absent. */
export interface Scenarios {
  throughput?: ThroughputResults;
  routed?: RoutedResults;
  deploy?: DeployResult;
  registration?: RegistrationResult;
  inferenceThread?: ThreadFigures[];
  shadow?: ShadowResults;
  memory?: MemoryResults;
  batching?: BatchingResults;
  rest?: RestResults;
  scale?: ScaleResults;
  density?: DensityResults;
}

export function buildReport(meta: Record<string, unknown>, results: Scenarios): BenchReport {
  const { throughput, routed, deploy, registration, inferenceThread: thread, shadow, memory, batching, scale, density } = results;
  const byConcurrency = (cells: ThroughputCell[]): Record<string, LoadFigures> =>
    Object.fromEntries(
      cells.map((c) => [
        `c${c.concurrency}`,
        { requestsPerSecond: c.requestsPerSecond, p50Ms: c.p50Ms, p99Ms: c.p99Ms, serverCpuUsPerRequest: c.serverCpuUsPerRequest },
      ]),
    );
  const throughputFigures = throughput && {
    bare: byConcurrency(throughput.bare),
    node: byConcurrency(throughput.node),
    ratio: Object.fromEntries(throughput.comparisons.map((c) => [`c${c.concurrency}`, c.ratio])),
    cpuRatio: Object.fromEntries(throughput.comparisons.map((c) => [`c${c.concurrency}`, c.cpuRatio])),
  };
  const routedFigures = routed && {
    single: byConcurrency(routed.single),
    split: byConcurrency(routed.split),
    ratio: Object.fromEntries(routed.comparisons.map((c) => [`c${c.concurrency}`, c.ratio])),
    cpuRatio: Object.fromEntries(routed.comparisons.map((c) => [`c${c.concurrency}`, c.cpuRatio])),
  };
  const inferenceThread =
    thread &&
    Object.fromEntries(
      thread.map((p) => [
        p.name,
        {
          loopLagP99Ms: p.loopLagP99Ms,
          loopLagMaxMs: p.loopLagMaxMs,
          healthP50Ms: p.healthP50Ms,
          healthP99Ms: p.healthP99Ms,
          healthMaxMs: p.healthMaxMs,
          serverLiveP99Ms: p.serverLiveP99Ms,
          ...(p.load
            ? { modelRunMs: p.load.modelRunMs, requestsPerSecond: p.load.requestsPerSecond, inferP50Ms: p.load.inferP50Ms, inferP99Ms: p.load.inferP99Ms }
            : {}),
        } satisfies ThreadPhaseFigures,
      ]),
    );
  const targets: TargetCheck[] = [
    ...(shadow ? shadowTargets(shadow) : []),
    ...(memory ? memoryTargets(memory) : []),
    ...(batching ? batchingTargets(batching) : []),
    ...(scale ? scaleTargets(scale) : []),
    ...Object.entries(throughputFigures?.ratio ?? {}).map(([k, v]) => ({ name: `throughput node/bare ${k}`, target: `>= ${RATIO_TARGET}`, value: v, met: v >= RATIO_TARGET })),
    ...Object.entries(routedFigures?.ratio ?? {}).map(([k, v]) => ({
      name: `routed split/single ${k}`,
      target: `>= ${ROUTED_RATIO_TARGET}`,
      value: v,
      met: v >= ROUTED_RATIO_TARGET,
    })),
    ...(deploy
      ? [{ name: 'deploy-to-READY p99', target: `<= ${DEPLOY_P99_TARGET_MS} ms`, value: deploy.p99Ms, met: deploy.p99Ms <= DEPLOY_P99_TARGET_MS }]
      : []),
    ...(registration
      ? [
          {
            name: 'registration with validation',
            target: `>= ${REGISTRATION_TARGET} versions/s`,
            value: registration.versionsPerSecond,
            met: registration.versionsPerSecond >= REGISTRATION_TARGET && registration.notPassed === 0,
          },
        ]
      : []),
  ];
  return {
    schema: 1,
    meta,
    figures: {
      ...(throughputFigures ? { throughput: throughputFigures } : {}),
      ...(routedFigures ? { routed: routedFigures } : {}),
      ...(deploy ? { deployToReady: { p50Ms: deploy.p50Ms, p99Ms: deploy.p99Ms, maxMs: deploy.maxMs } } : {}),
      ...(registration ? { registration: { versionsPerSecond: registration.versionsPerSecond, p50Ms: registration.p50Ms, p99Ms: registration.p99Ms } } : {}),
      ...(shadow ? { shadow: shadowFigures(shadow) } : {}),
      ...(memory ? { memory: memoryFigures(memory) } : {}),
      ...(batching ? { batching: batchingFigures(batching) } : {}),
      ...(results.rest ? { rest: restFigures(results.rest) } : {}),
      ...(scale ? { scale: scaleFigures(scale) } : {}),
      ...(inferenceThread ? { inferenceThread } : {}),
    },
    targets,
    details: results,
  };
}

function table(header: string[], rows: (string | number)[][]): string {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => r[i]!.length)));
  const line = (r: string[]): string => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(line)].join('\n');
}

const fmt = (v: number | undefined, digits = 2): string => (v === undefined ? '-' : v.toFixed(digits));

export function formatReport(r: BenchReport): string {
  const m = r.meta as { machine: string; settings: string; totalSeconds: number };
  const cells = (f: LoadFigures): string[] => [fmt(f.requestsPerSecond, 0), fmt(f.p50Ms, 3), fmt(f.p99Ms, 3), fmt(f.serverCpuUsPerRequest, 1)];
  const sections: string[][] = [];
  const tp = r.figures.throughput;
  const tpDetails = r.details.throughput;
  if (tp && tpDetails) {
    const rows: (string | number)[][] = [];
    for (const k of Object.keys(tp.bare)) {
      rows.push(['bare grpc-js + ORT', k.slice(1), ...cells(tp.bare[k]!), '', '']);
      rows.push(['prediction node', k.slice(1), ...cells(tp.node[k]!), fmt(tp.ratio[k], 3), fmt(tp.cpuRatio[k], 3)]);
    }
    sections.push([
      'Throughput: linear model 3→1 FP32, batch 1, raw contents (load client in its own process)',
      table(['server', 'conc', 'req/s', 'p50 ms', 'p99 ms', 'CPU µs/req', 'node/bare req/s', 'bare/node CPU'], rows),
      ...tpDetails.comparisons.map(
        (c) =>
          `  c=${c.concurrency}: per-round node/bare [${c.roundRatios.join(', ')}], pooled ${c.pooledRatio}` +
          (c.otherCoresMean === undefined ? '' : `; other processes kept ${c.otherCoresMean} cores busy on average (max ${c.otherCoresMax})`),
      ),
      ...(tpDetails.comparisons.some((c) => (c.otherCoresMean ?? 0) > BUSY_MACHINE_CORES)
        ? [`  WARNING: other processes used more than ${BUSY_MACHINE_CORES} cores on average while these ran; the ratios are unreliable, run again on a quiet machine`]
        : []),
    ]);
  }
  const routed = r.figures.routed;
  const routedDetails = r.details.routed;
  if (routed && routedDetails) {
    const routedRows: (string | number)[][] = [];
    for (const k of Object.keys(routed.single)) {
      routedRows.push(['single (1 version)', k.slice(1), ...cells(routed.single[k]!), '', '']);
      routedRows.push(['split (3 versions)', k.slice(1), ...cells(routed.split[k]!), fmt(routed.ratio[k], 3), fmt(routed.cpuRatio[k], 3)]);
    }
    const splitList = routedDetails.splits.map((s) => `${s.version} ${s.weight / 100} %`).join(', ');
    const seen = (versions: string[]): string => {
      const counts = new Map<string, number>();
      for (const v of versions) counts.set(v, (counts.get(v) ?? 0) + 1);
      return [...counts].map(([v, n]) => `${v}×${n}`).join(' ');
    };
    sections.push([
      `Routed: same linear model on node 1, unversioned requests; single = 1 version, split = ${splitList}`,
      table(['model', 'conc', 'req/s', 'p50 ms', 'p99 ms', 'CPU µs/req', 'split/single req/s', 'single/split CPU'], routedRows),
      ...routedDetails.comparisons.map(
        (c) =>
          `  c=${c.concurrency}: per-round split/single [${c.roundRatios.join(', ')}], pooled ${c.pooledRatio}; ` +
          `sampled split responses by version: ${seen(routedDetails.sampledVersions[`c${c.concurrency}`] ?? [])}` +
          (c.otherCoresMean === undefined ? '' : `; other processes ${c.otherCoresMean} cores on average (max ${c.otherCoresMax})`),
      ),
      ...(routedDetails.comparisons.some((c) => (c.otherCoresMean ?? 0) > BUSY_MACHINE_CORES)
        ? [`  WARNING: other processes used more than ${BUSY_MACHINE_CORES} cores on average while these ran; the ratios are unreliable`]
        : []),
    ]);
  }
  const d = r.figures.deployToReady;
  if (d && r.details.deploy) {
    sections.push([
      `Deploy-to-READY on ${r.details.deploy.count > 0 ? 'all nodes' : '-'} (SetRoute reply → last node's READY via etcd watch), ${r.details.deploy.count} deploys:`,
      `  p50 ${fmt(d.p50Ms, 1)} ms   p99 ${fmt(d.p99Ms, 1)} ms   max ${fmt(d.maxMs, 1)} ms`,
    ]);
  }
  const g = r.figures.registration;
  if (g && r.details.registration) {
    sections.push([
      `Registration (UploadArtifact + CreateVersion with validation, ${r.details.registration.concurrency} at a time), ${r.details.registration.count} versions:`,
      `  ${fmt(g.versionsPerSecond, 1)} versions/s   each p50 ${fmt(g.p50Ms, 1)} ms   p99 ${fmt(g.p99Ms, 1)} ms   not PASSED ${r.details.registration.notPassed}`,
    ]);
  }
  if (r.figures.inferenceThread && r.details.inferenceThread) {
    const threadRows = Object.entries(r.figures.inferenceThread).map(([name, p]) => [
      name,
      fmt(p.modelRunMs),
      fmt(p.requestsPerSecond, 0),
      fmt(p.inferP99Ms),
      fmt(p.loopLagP99Ms),
      fmt(p.loopLagMaxMs),
      fmt(p.healthP50Ms),
      fmt(p.healthP99Ms),
      fmt(p.healthMaxMs),
      fmt(p.serverLiveP99Ms),
    ]);
    sections.push([
      "Inference thread (small models run on the node's main thread, slow ones in a worker thread; health probes every 20 ms from another process)",
      table(['phase', 'run ms', 'req/s', 'infer p99', 'lag p99', 'lag max', 'health p50', 'health p99', 'health max', 'live p99'], threadRows),
      r.details.inferenceThread.map((p) => `  ${p.name}: ${p.description}`).join('\n'),
    ]);
  }
  if (r.details.shadow) sections.push([formatShadow(r.details.shadow)]);
  if (r.details.memory) sections.push([formatMemory(r.details.memory)]);
  if (r.details.batching) sections.push([formatBatching(r.details.batching)]);
  if (r.details.rest) sections.push(formatRest(r.details.rest));
  if (r.details.scale) sections.push([formatScale(r.details.scale)]);
  if (r.details.density) sections.push([formatDensity(r.details.density)]);
  return [
    `Switchyard bench — ${m.machine}`,
    m.settings,
    '',
    ...sections.flatMap((lines) => [...lines, '']),
    'Targets:',
    ...r.targets.map((t) => `  ${t.met ? 'MET   ' : 'MISSED'} ${t.name}: ${t.value} (target ${t.target})`),
    '',
    `Total ${m.totalSeconds} s`,
  ].join('\n');
}
