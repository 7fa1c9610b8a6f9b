/** The registry-scale scenario's part of the bench report (l): figures, targets and its table. */
import type { ScaleResults } from './scale-scenario.js';

/** Issue #15: restart to serving within this much plus the node's summed load time. */
export const RESTART_OVERHEAD_TARGET_MS = 3000;
/** Issue #15: admin listings and status stay interactive. */
export const ADMIN_P99_TARGET_MS = 200;

export interface ScaleFigures {
  restartAllServedMs: number;
  restartFirstServedMs: number;
  restartSessionMsSum: number;
  adminP99Ms: Record<string, number>;
  cliStatusP50Ms: number;
  cliVersionP50Ms: number;
  metricsBytes: number;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

export function scaleFigures(r: ScaleResults): ScaleFigures {
  return {
    restartAllServedMs: median(r.restarts.map((x) => x.allServedMs)),
    restartFirstServedMs: median(r.restarts.map((x) => x.firstServedMs)),
    restartSessionMsSum: median(r.restarts.map((x) => x.sessionMsSum)),
    adminP99Ms: Object.fromEntries(Object.entries(r.admin).map(([k, f]) => [k, f.p99Ms])),
    cliStatusP50Ms: r.cli.status.p50Ms,
    cliVersionP50Ms: r.cli.version.p50Ms,
    metricsBytes: r.metrics.bytes,
  };
}

export function scaleTargets(r: ScaleResults): { name: string; target: string; value: number; met: boolean }[] {
  const overhead = median(r.restarts.map((x) => x.overheadMs));
  return [
    {
      name: `restart to serving ${r.routed} routed (${r.versions} registered), beyond the models' own load time`,
      target: `<= ${RESTART_OVERHEAD_TARGET_MS} ms`,
      value: overhead,
      met: overhead <= RESTART_OVERHEAD_TARGET_MS,
    },
    ...Object.entries(r.admin).map(([name, f]) => ({ name: `${name} p99 at ${r.versions} versions`, target: `<= ${ADMIN_P99_TARGET_MS} ms`, value: f.p99Ms, met: f.p99Ms <= ADMIN_P99_TARGET_MS })),
    { name: 'leader step-downs during the scale scenario', target: '= 0', value: r.leaderStepDowns, met: r.leaderStepDowns === 0 },
  ];
}

export function formatScale(r: ScaleResults): string {
  const f = scaleFigures(r);
  return [
    `Registry scale (l): ${r.models} models × ${r.versions / r.models} versions = ${r.versions} registered (written into etcd in ${r.seedSeconds} s), ${r.routed} routed, 1 node`,
    ...r.restarts.map(
      (x, i) =>
        `  restart ${i + 1}: first model served ${x.firstServedMs} ms, all ${r.routed} served ${x.allServedMs} ms; models' own load time (session creation and warm-up, summed) ${x.sessionMsSum} ms; the rest ${x.overheadMs} ms`,
    ),
    ...Object.entries(r.admin).map(([name, a]) => `  ${name.padEnd(42)} p50 ${a.p50Ms.toFixed(1).padStart(6)} ms   p99 ${a.p99Ms.toFixed(1).padStart(6)} ms   (${a.n} calls)`),
    `  event loop of the process (control plane and node) while the admin calls ran: delay p99 ${r.adminLoopDelay.p99Ms} ms, max ${r.adminLoopDelay.maxMs} ms`,
    `  CLI 'switchyard status', whole process: p50 ${r.cli.status.p50Ms} ms, max ${r.cli.status.p99Ms} ms of ${r.cli.status.n}; 'switchyard --version' p50 ${r.cli.version.p50Ms} ms (start-up alone)`,
    `  CPU (node + control plane, one process) per unrelated change of target/: ${r.idleCpu.perChangeMs} ms; idle/idle noise floor ${r.idleCpu.noiseFloorMs} ms (${r.idleCpu.windows} windows of ${r.idleCpu.changes} changes)`,
    `  /metrics with ${r.metrics.versionsWithTraffic} versions served: ${f.metricsBytes} bytes, ${r.metrics.series} series per scrape`,
    `  leader step-downs: ${r.leaderStepDowns}`,
  ].join('\n');
}
