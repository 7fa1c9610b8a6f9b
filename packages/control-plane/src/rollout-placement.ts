import type { EtcdTables } from './etcd-tables.js';

/**
 * What a rollout's new version still waits for before it takes weight
 * (issue #16): the placer's record of it, then a READY copy on a live node.
 * Any live node counts, not only the placed ones: a node that loads every
 * routed version (from before placement) or one that loaded it on demand
 * serves it as well. Undefined when it is ready.
 */
export function rolloutPlacementWait(tables: EtcdTables): (model: string, version: string) => Promise<string | undefined> {
  return async (model, version) => {
    const placement = await tables.placements.get(model, version);
    if (!placement) return `the placer to place ${version}`;
    const states = await tables.cluster.modelStates(model);
    const ready = states.some(({ statuses }) => statuses.some((s) => s.value.version === version && s.value.state === 'READY'));
    if (ready) return undefined;
    const where = placement.value.copies.map((c) => c.nodeId);
    const on = where.length > 0 ? ` on ${where.join(', ')}` : '';
    return `a loaded copy of ${version}${on}${placement.value.reason ? ` (${placement.value.reason})` : ''}`;
  };
}
