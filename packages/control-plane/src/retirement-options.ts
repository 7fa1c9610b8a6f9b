/** Auto-retirement settings of a control plane (issue #6, docs/retirement.md). */
export interface RetirementOptions {
  /** Expiration of a version when neither it nor its model sets one. @default 30 days */
  defaultExpiresAfterSeconds?: number;
  /** A version is WARNED when less than this is left before it expires. @default 7 days */
  warningSeconds?: number;
  /** How long a retired version's artifact is kept (Unretire works until then). @default 7 days */
  artifactRetentionSeconds?: number;
  /** Real time between two sweeps; decisions read the control plane's clock. @default 60000 */
  sweepIntervalMs?: number;
  /** false: no automatic sweeps (the RPCs, manual Retire included, still work). @default true */
  sweeperEnabled?: boolean;
}

export interface ResolvedRetirementOptions {
  defaultExpiresAfterSeconds: number;
  warningSeconds: number;
  artifactRetentionSeconds: number;
  sweepIntervalMs: number;
  sweeperEnabled: boolean;
}

export const DAY_SECONDS = 86_400;

function positive(name: string, value: number | undefined, fallback: number, allowZero = false): number {
  const resolved = value ?? fallback;
  if (!Number.isSafeInteger(resolved) || resolved < 0 || (!allowZero && resolved === 0)) {
    throw new TypeError(`retirement.${name} must be a ${allowZero ? 'non-negative' : 'positive'} integer, got ${value}`);
  }
  return resolved;
}

/** @throws TypeError naming the bad field. */
export function resolveRetirementOptions(options: RetirementOptions = {}): ResolvedRetirementOptions {
  return {
    defaultExpiresAfterSeconds: positive('defaultExpiresAfterSeconds', options.defaultExpiresAfterSeconds, 30 * DAY_SECONDS),
    warningSeconds: positive('warningSeconds', options.warningSeconds, 7 * DAY_SECONDS, true),
    artifactRetentionSeconds: positive('artifactRetentionSeconds', options.artifactRetentionSeconds, 7 * DAY_SECONDS, true),
    sweepIntervalMs: positive('sweepIntervalMs', options.sweepIntervalMs, 60_000),
    sweeperEnabled: options.sweeperEnabled ?? true,
  };
}
