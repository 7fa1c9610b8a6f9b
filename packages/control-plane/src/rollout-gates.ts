import type { RolloutGates } from '@switchyard/core';

/** p99 differences below this many ms never fail the p99 gate unless the rollout says otherwise. */
export const DEFAULT_P99_TOLERANCE_MS = 5;

/** One version's figures over one step, summed over every node's report. */
export interface VersionFigures {
  version: string;
  /** Requests the version took, failed ones included. */
  requests: number;
  errors: number;
  /** errors / requests; 0 without requests. */
  errorRate: number;
  /** Of the answered requests; null when there were none. */
  p99Ms: number | null;
}

/** Shadow comparisons of the new version against the old, summed over every node. */
export interface ShadowFigures {
  compared: number;
  agreed: number;
}

/** What the gates judge: both versions over the same step, and shadow results where they exist. */
export interface StepFigures {
  from: VersionFigures;
  to: VersionFigures;
  shadow: ShadowFigures | null;
}

/** The gates' verdict; `failures` says which limits were crossed, with the figures. */
export interface GateVerdict {
  pass: boolean;
  failures: string[];
}

/**
 * Judges the new version against the old over one step. A limit that is
 * null is not checked; comparisons need figures on both sides (an old
 * version that answered nothing in the step cannot be compared with).
 */
export function evaluateGates(gates: RolloutGates, figures: StepFigures): GateVerdict {
  const failures: string[] = [];
  const { from, to } = figures;
  if (gates.maxErrorRate !== null && to.errorRate > gates.maxErrorRate) {
    failures.push(`error rate of ${to.version} ${formatRate(to)} is above the limit ${percent(gates.maxErrorRate)}`);
  }
  if (gates.maxErrorRateRatio !== null && to.errors > 0) {
    // A few errors on a nearly clean version are noise; the ratio only counts once they matter.
    const threshold = gates.maxErrorRate === null ? 0 : gates.maxErrorRate / 10;
    if (from.errorRate > 0 || to.errorRate > threshold) {
      const ratio = from.errorRate > 0 ? to.errorRate / from.errorRate : Infinity;
      if (ratio > gates.maxErrorRateRatio) {
        failures.push(
          `error rate of ${to.version} ${formatRate(to)} is ${formatRatio(ratio)} that of ${from.version} ${formatRate(from)}, above the limit ${gates.maxErrorRateRatio}×`,
        );
      }
    }
  }
  if (gates.maxP99Ratio !== null && from.p99Ms !== null && to.p99Ms !== null && from.requests > 0) {
    const tolerance = gates.p99ToleranceMs ?? DEFAULT_P99_TOLERANCE_MS;
    const ratio = from.p99Ms > 0 ? to.p99Ms / from.p99Ms : Infinity;
    if (ratio > gates.maxP99Ratio && to.p99Ms - from.p99Ms > tolerance) {
      failures.push(
        `p99 latency of ${to.version} ${formatMs(to.p99Ms)} is ${formatRatio(ratio)} that of ${from.version} ${formatMs(from.p99Ms)}, above the limit ${gates.maxP99Ratio}×`,
      );
    }
  }
  const shadow = shadowFailure(gates, figures.shadow);
  if (shadow !== undefined) failures.push(shadow);
  return { pass: failures.length === 0, failures };
}

/** Why the shadow agreement fails its limit, or undefined when it holds or there is nothing to judge. */
export function shadowFailure(gates: RolloutGates, shadow: ShadowFigures | null): string | undefined {
  if (gates.minShadowAgreement === null || shadow === null || shadow.compared === 0) return undefined;
  const agreement = shadow.agreed / shadow.compared;
  if (agreement >= gates.minShadowAgreement) return undefined;
  return `shadow agreement ${percent(agreement)} (${shadow.agreed} of ${shadow.compared}) is below the limit ${percent(gates.minShadowAgreement)}`;
}

/** `12.5% (25 of 200)` */
export function formatRate(f: VersionFigures): string {
  return `${percent(f.errorRate)} (${f.errors} of ${f.requests})`;
}

export function percent(share: number): string {
  return `${Number((share * 100).toPrecision(3))}%`;
}

function formatRatio(ratio: number): string {
  return Number.isFinite(ratio) ? `${Number(ratio.toPrecision(3))}×` : 'infinitely many times';
}

function formatMs(ms: number): string {
  return `${Number(ms.toPrecision(3))} ms`;
}
