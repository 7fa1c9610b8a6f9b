/** The shadow scenario's part of the bench report: figures, targets and its table. */
import { SHADOW_P99_RISE_TARGET, SHADOW_SATURATION_TARGET, type PacedFigures, type ShadowCounts, type ShadowResults } from './shadow-scenario.js';

/** Every number a measurement (> 0); drops and errors, which may be 0, are in the details. */
export interface ShadowFigures {
  halfCapacity: {
    offeredPerSecond: number;
    off: { requestsPerSecond: number; p50Ms: number; p99Ms: number };
    on: { requestsPerSecond: number; p50Ms: number; p99Ms: number };
    /** p99 with 100 % shadowing ÷ without. */
    p99Ratio: number;
    /** p99 of the second 0 % arm ÷ the first: what two identical measurements differ by in this run. */
    aaP99Ratio: number;
  };
  saturation: {
    off: { requestsPerSecond: number };
    on: { requestsPerSecond: number };
    /** Median over rounds of req/s with 100 % shadowing ÷ without. */
    ratio: number;
  };
}

export function shadowFigures(r: ShadowResults): ShadowFigures {
  const paced = (f: { requestsPerSecond: number; p50Ms: number; p99Ms: number }) => ({ requestsPerSecond: f.requestsPerSecond, p50Ms: f.p50Ms, p99Ms: f.p99Ms });
  return {
    halfCapacity: { offeredPerSecond: r.halfCapacity.offeredPerSecond, off: paced(r.halfCapacity.off), on: paced(r.halfCapacity.on), p99Ratio: r.halfCapacity.p99Ratio, aaP99Ratio: r.halfCapacity.aaP99Ratio },
    saturation: { off: { requestsPerSecond: r.saturation.off.requestsPerSecond }, on: { requestsPerSecond: r.saturation.on.requestsPerSecond }, ratio: r.saturation.ratio },
  };
}

export function shadowTargets(r: ShadowResults): { name: string; target: string; value: number; met: boolean }[] {
  const errors = r.halfCapacity.on.errors + r.halfCapacity.off.errors;
  return [
    { name: 'shadow p99 on/off at half capacity', target: `<= ${SHADOW_P99_RISE_TARGET}`, value: r.halfCapacity.p99Ratio, met: r.halfCapacity.p99Ratio <= SHADOW_P99_RISE_TARGET },
    { name: 'shadow primary errors at half capacity', target: '= 0', value: errors, met: errors === 0 },
    { name: 'shadow saturation req/s on/off', target: `>= ${SHADOW_SATURATION_TARGET}`, value: r.saturation.ratio, met: r.saturation.ratio >= SHADOW_SATURATION_TARGET },
  ];
}

const fmt = (v: number, digits = 2): string => v.toFixed(digits);

function describe(c: ShadowCounts): string {
  const share = c.mirrored > 0 ? ` (${fmt((100 * c.dropped) / c.mirrored, 1)} % dropped)` : '';
  return `mirrored ${c.mirrored}, dropped ${c.dropped}${share}, compared ${c.compared}, agreed ${c.agreed}, failed ${c.failed}`;
}

export function formatShadow(r: ShadowResults): string {
  const h = r.halfCapacity;
  const s = r.saturation;
  const row = (name: string, f: PacedFigures) =>
    `  ${name.padEnd(14)} ${fmt(f.requestsPerSecond, 0).padStart(8)} req/s   p50 ${fmt(f.p50Ms, 3)} ms   p99 ${fmt(f.p99Ms, 3)} ms   ` +
    `node CPU ${fmt(f.serverCpuUsPerRequest, 1)} µs/req   node GC ${fmt(f.gcPauseMsPerSecond, 1)} ms/s (${f.majorGcs} major)   ` +
    `client GC ${fmt(f.clientGcMsPerSecond, 1)} ms/s (max ${fmt(f.clientGcMaxMs, 1)})   errors ${f.errors}   not sent ${f.skipped}`;
  return [
    'Shadow: same linear model on node 1, unversioned requests; on = a second identical version shadowing 100 % of them',
    `  half capacity, ${fmt(h.offeredPerSecond, 0)} req/s offered (open loop, Poisson arrivals):`,
    row('0 % (2 arms)', h.off),
    row('100 % shadowed', h.on),
    `  p99 on/off ${fmt(h.p99Ratio, 3)}, p50 on/off ${fmt(h.p50Ratio, 3)}; the two off arms differ by ${fmt(h.aaP99Ratio, 3)} (off-b/off-a p99, this run's noise floor); ` +
      `per round on/off p99 [${h.roundP99Ratios.join(', ')}]`,
    `  shadow calls: ${describe(h.shadow)}`,
    `  saturation (concurrency 32): off ${fmt(s.off.requestsPerSecond, 0)} req/s, on ${fmt(s.on.requestsPerSecond, 0)} req/s, on/off ${fmt(s.ratio, 3)} ` +
      `(per round [${s.roundRatios.join(', ')}]); shadow calls: ${describe(s.shadow)}`,
  ].join('\n');
}
