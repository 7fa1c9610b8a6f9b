import type { ModelRecord, RetirementAction, RetirementState, RouteRecord, VersionRecord } from '@switchyard/core';
import type { ResolvedRetirementOptions } from './retirement-options.js';

/** When a version was last used, folded over every node's usage record. */
export interface VersionUsage {
  /** Latest request answered as primary on any node; undefined when none reported. */
  lastPrimaryMs: number | undefined;
  /** Latest request answered as a shadow on any node. */
  lastShadowMs: number | undefined;
}

/** The later of primary and shadow use; undefined when neither happened. */
export function lastUseMs(usage: VersionUsage | undefined): number | undefined {
  if (!usage) return undefined;
  const { lastPrimaryMs: p, lastShadowMs: s } = usage;
  if (p === undefined) return s;
  return s === undefined ? p : Math.max(p, s);
}

/** What the sweeper makes of one version at one instant. */
export interface Assessment {
  state: RetirementState;
  action: RetirementAction;
  reason: string;
  /** Expiration in force: the version's, else the model's, else the cluster's. */
  expiresAfterSeconds: number;
  lastUseMs: number | undefined;
  /** When it expires if unused until then; undefined when pinned, blocked or retired. */
  expiresAtMs: number | undefined;
  /** When it is retired: the later of expiry and the warning plus the warning window. */
  retireAtMs: number | undefined;
}

const ROLLOUT_RUNNING = new Set(['PENDING', 'PROGRESSING', 'PAUSED']);

/**
 * Why a version must not expire now whatever its use (a running rollout moves
 * traffic to or from it, or owns the weights it has); undefined when nothing holds it.
 */
export function heldBy(route: RouteRecord | undefined, version: string): string | undefined {
  const rollout = route?.rollout;
  if (!rollout || !ROLLOUT_RUNNING.has(rollout.state)) return undefined;
  if (rollout.from === version || rollout.to === version) return `a rollout ${rollout.from} -> ${rollout.to} is ${rollout.state}`;
  // The rollout owns the route's weights: taking a weighted version out would move its steps.
  if (route.splits.some((s) => s.version === version && s.weight > 0)) return `a rollout ${rollout.from} -> ${rollout.to} owns the route's weights`;
  return undefined;
}

const iso = (ms: number): string => new Date(ms).toISOString();

/**
 * Decides what to do with one version now. Pure: the sweeper applies the
 * result with a transaction that re-checks everything it was computed from.
 *
 * The clock starts at the latest of last use, creation and the last unretire,
 * so a version deployed but not routed yet gets its whole period. A version
 * is retired only after it was WARNED, and never less than the warning window
 * after the warning, so shortening an expiration (or a sweeper that was down)
 * still gives its owner the full notice.
 */
export function assessVersion(input: {
  version: VersionRecord;
  model: ModelRecord | undefined;
  usage: VersionUsage | undefined;
  route: RouteRecord | undefined;
  nowMs: number;
  options: ResolvedRetirementOptions;
}): Assessment {
  const { version, model, nowMs, options } = input;
  const state = version.retirement?.state ?? 'ACTIVE';
  const expiresAfterSeconds = version.expiresAfterSeconds || model?.defaultExpiresAfterSeconds || options.defaultExpiresAfterSeconds;
  const used = lastUseMs(input.usage);
  const base = { state, expiresAfterSeconds, lastUseMs: used };

  if (state === 'RETIRED') {
    const r = version.retirement!;
    const retireAtMs = r.retiredAt ? Date.parse(r.retiredAt) : undefined;
    if (r.artifactDeletedAt) return { ...base, action: 'KEEP', reason: `retired; artifact collected at ${r.artifactDeletedAt}`, expiresAtMs: undefined, retireAtMs };
    const deleteAfter = r.artifactDeleteAfter ? Date.parse(r.artifactDeleteAfter) : nowMs;
    if (deleteAfter <= nowMs) return { ...base, action: 'COLLECT', reason: 'retired and past its artifact retention', expiresAtMs: undefined, retireAtMs };
    return { ...base, action: 'KEEP', reason: `retired; artifact kept until ${iso(deleteAfter)} (unretire works until then)`, expiresAtMs: undefined, retireAtMs };
  }

  const hold = version.pinned ? 'pinned' : heldBy(input.route, version.version);
  if (hold !== undefined) {
    return { ...base, action: state === 'WARNED' ? 'CLEAR' : 'KEEP', reason: hold, expiresAtMs: undefined, retireAtMs: undefined };
  }

  const created = Date.parse(version.createdAt);
  const activeSince = version.retirement?.activeSince ? Date.parse(version.retirement.activeSince) : 0;
  const start = Math.max(used ?? 0, Number.isFinite(created) ? created : 0, activeSince);
  const expiresAtMs = start + expiresAfterSeconds * 1000;
  const warnAtMs = expiresAtMs - options.warningSeconds * 1000;
  const since = used === undefined ? `never used (created ${version.createdAt})` : `last used ${iso(used)}`;

  if (state === 'ACTIVE') {
    if (nowMs < warnAtMs) return { ...base, action: 'KEEP', reason: `${since}; expires ${iso(expiresAtMs)}`, expiresAtMs, retireAtMs: undefined };
    const retireAtMs = Math.max(expiresAtMs, nowMs + options.warningSeconds * 1000);
    return { ...base, action: 'WARN', reason: `${since}; expires ${iso(expiresAtMs)}`, expiresAtMs, retireAtMs };
  }

  // WARNED
  const warnedAtMs = version.retirement?.warnedAt ? Date.parse(version.retirement.warnedAt) : nowMs;
  if (nowMs < warnAtMs) {
    const why = used !== undefined && used > warnedAtMs ? `used again at ${iso(used)}` : `expiration moved to ${iso(expiresAtMs)}`;
    return { ...base, action: 'CLEAR', reason: why, expiresAtMs, retireAtMs: undefined };
  }
  const retireAtMs = Math.max(expiresAtMs, warnedAtMs + options.warningSeconds * 1000);
  if (nowMs >= retireAtMs) return { ...base, action: 'RETIRE', reason: `${since}; expired ${iso(expiresAtMs)}, warned ${iso(warnedAtMs)}`, expiresAtMs, retireAtMs };
  return { ...base, action: 'KEEP', reason: `warned ${iso(warnedAtMs)}; ${since}; retires ${iso(retireAtMs)}`, expiresAtMs, retireAtMs };
}
