import { aborted, failedPrecondition, notFound, type RouteRecord, type ShadowEntry } from '@switchyard/core';
import { historyEntry } from './history-entries.js';
import type { TargetStateStore } from './target-state-store.js';

/** Read-modify-write attempts when the route (e.g. a rollout step) or a referenced version changes underneath. */
const ATTEMPTS = 5;

/** The new shadows computed from a route; undefined: nothing to do. */
export type ShadowChangeResult = {
  shadows: ShadowEntry[];
  /** Versions the new route references that must not change (be retired or deleted) meanwhile, with their mod revisions as checked. */
  referenced?: ReadonlyMap<string, string>;
} | undefined;

/** What {@link writeShadows} asks of its caller for the route it read; called again on every attempt, so it may read (and check) versions afresh. */
export type ShadowChange = (route: RouteRecord) => ShadowChangeResult | Promise<ShadowChangeResult>;

/**
 * Replaces a route's shadows, leaving its splits, slots and rollout alone:
 * reads the route, lets `change` compute the new shadows (undefined: nothing
 * to do), and writes it with a compare-and-swap on the route's revision and
 * an audit entry in the same transaction (and on the referenced versions'
 * revisions). Without `expectedRevision` a lost race is retried on a fresh
 * read; with it, it is ABORTED. A referenced version that changed is always
 * read and checked again.
 * @returns the written route and its revision, or the unchanged one.
 */
export async function writeShadows(options: {
  state: TargetStateStore;
  model: string;
  change: ShadowChange;
  actor: string;
  /** The audit log action, e.g. AddShadow. */
  action: string;
  version: string;
  now: () => string;
  /** '0': unconditional. */
  expectedRevision?: string;
}): Promise<{ route: RouteRecord; revision: string }> {
  const { state, model } = options;
  const conditional = options.expectedRevision !== undefined && options.expectedRevision !== '0';
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const read = await state.readRoute(model);
    if (conditional && read.revision !== options.expectedRevision) throw routeChanged(model);
    if (read.invalid !== undefined) {
      throw failedPrecondition(`the route of model ${model} stored in etcd is invalid (${read.invalid}); replace it with SetRoute first`);
    }
    if (!read.current) throw notFound(`model ${model} has no route; deploy a version or set a route with SetRoute first`);
    const changed = await options.change(read.current);
    if (changed === undefined) return { route: read.current, revision: read.revision };
    const at = options.now();
    // The route write checks the new route against its schema (INTERNAL if it fails).
    const route: RouteRecord = { ...read.current, shadows: changed.shadows, updatedAt: at, updatedBy: options.actor };
    const history = historyEntry({ at, actor: options.actor, action: options.action, model, version: options.version, before: read.current, after: route });
    const outcome = await state.putRoute(route, read.revision, changed.referenced ?? new Map(), history);
    if (outcome.status === 'written') return { route, revision: outcome.revision };
    if (outcome.status === 'version-gone') throw notFound(`version ${outcome.version} of model ${model} was deleted meanwhile; pick another version`);
    if (outcome.status === 'version-changed') continue;
    if (conditional) throw routeChanged(model);
  }
  throw aborted(`the route or versions of model ${model} kept changing while its shadows were being changed (e.g. a retirement or a rollout step); retry`);
}

function routeChanged(model: string): Error {
  return aborted(`the route of model ${model} changed since you read it; re-read it (switchyard shadow list) and retry`);
}
