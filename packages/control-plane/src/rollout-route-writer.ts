import type { RouteRecord } from '@switchyard/core';
import { historyEntry } from './history-entries.js';
import type { RouteChange } from './rollout-transitions.js';
import type { TargetStateStore } from './target-state-store.js';

/** Outcome of {@link writeRouteChange}. */
export type RouteChangeOutcome = { status: 'written'; revision: string } | { status: 'route-changed' } | { status: 'version-gone'; version: string };

/**
 * Writes a rollout's route change as a compare-and-swap on the route key's
 * mod revision (and on the create revisions of the rollout's two versions),
 * with its audit entry in the same transaction: of two writers that read the
 * same revision (two controllers, or a controller and an admin), exactly one
 * applies its change, and every applied step is in the history exactly once.
 */
export async function writeRouteChange(
  state: TargetStateStore,
  before: RouteRecord,
  expectedRevision: string,
  change: RouteChange,
): Promise<RouteChangeOutcome> {
  const model = before.model;
  const rollout = change.route.rollout;
  const versions = new Map<string, string>();
  const inSplits = new Set(change.route.splits.map((s) => s.version));
  if (rollout) {
    for (const version of [rollout.from, rollout.to]) {
      if (!inSplits.has(version)) continue;
      const stored = await state.getVersion(model, version);
      if (!stored) return { status: 'version-gone', version };
      versions.set(version, stored.createRevision);
    }
  }
  const history = historyEntry({
    at: change.route.updatedAt,
    actor: change.route.updatedBy,
    action: change.action,
    model,
    version: rollout?.to ?? '',
    before,
    after: change.route,
  });
  return state.putRoute(change.route, expectedRevision, versions, history);
}
