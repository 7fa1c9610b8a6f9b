import type { RouteRecord } from '@switchyard/core';
import { historyEntry } from './history-entries.js';
import type { RolloutMetrics } from './rollout-metrics.js';
import type { RouteChange } from './rollout-transitions.js';
import type { TargetStateStore } from './target-state-store.js';

/** Attempts when a version changes between its check and the write (e.g. the sweeper warned it). */
const VERSION_ATTEMPTS = 5;

/** Outcome of {@link writeRouteChange}. */
export type RouteChangeOutcome =
  | { status: 'written'; revision: string }
  | { status: 'route-changed' }
  | { status: 'version-gone'; version: string }
  /** A version the route keeps is RETIRED: it cannot get traffic until unretired. */
  | { status: 'version-retired'; version: string }
  /** A version kept changing between its check and the write; nothing was written. */
  | { status: 'version-changed'; version: string };

/**
 * Writes a rollout's route change as a compare-and-swap on the route key's
 * mod revision (and on the mod revisions of the rollout's versions the new
 * splits keep, each checked not RETIRED), with its audit entry in the same
 * transaction: of two writers that read the same revision (two controllers,
 * or a controller and an admin), exactly one applies its change, and every
 * applied step is in the history exactly once (and counted in `metrics`
 * exactly once). A version retired between its check and the write fails the
 * compare; a version that changed is checked again and the write retried (the
 * route must still be at `expectedRevision`), a few times.
 */
export async function writeRouteChange(
  state: TargetStateStore,
  before: RouteRecord,
  expectedRevision: string,
  change: RouteChange,
  metrics?: RolloutMetrics,
): Promise<RouteChangeOutcome> {
  const model = before.model;
  const rollout = change.route.rollout;
  const history = historyEntry({
    at: change.route.updatedAt,
    actor: change.route.updatedBy,
    action: change.action,
    model,
    version: rollout?.to ?? '',
    before,
    after: change.route,
  });
  const inSplits = new Set(change.route.splits.map((s) => s.version));
  const kept = rollout ? [rollout.from, rollout.to].filter((v) => inSplits.has(v)) : [];
  let outcome: RouteChangeOutcome = { status: 'route-changed' };
  for (let attempt = 0; attempt < VERSION_ATTEMPTS; attempt++) {
    const versions = new Map<string, string>();
    for (const version of kept) {
      const stored = await state.getVersion(model, version);
      if (!stored) return { status: 'version-gone', version };
      if (stored.value.retirement?.state === 'RETIRED') return { status: 'version-retired', version };
      versions.set(version, stored.modRevision);
    }
    outcome = await state.putRoute(change.route, expectedRevision, versions, history);
    if (outcome.status !== 'version-changed') break;
  }
  if (outcome.status === 'written') metrics?.recordCommitted(model, before.rollout, rollout);
  return outcome;
}
