import type { NodeMemoryRecord } from '@switchyard/core';
import type { PrefixView } from './etcd-prefix-view.js';
import type { EtcdTables } from './etcd-tables.js';
import type { LeaderHeld } from './leader-loop.js';
import { placementStatus, placementVersion, type PlacementReads } from './placement-inputs.js';

/** Everything a placement pass decides from except the placements themselves. */
export type PlacementViewRead = Omit<PlacementReads, 'placements' | 'placementRevisions'>;

/**
 * The placer's watch-fed copy of what it decides from (issue #16): the live
 * nodes, their memory records, the measured cost in every version status,
 * usage records, models, versions (only what placement needs of each) and
 * routes, each a
 * PrefixView (one paged read, then a watch from its revision; compaction
 * means a new read). Held only while leading, so a follower keeps no copy.
 * A pass then reads only the placements, which it compares on write.
 *
 * `onWake` is called for what should bring a pass forward: a node that
 * joins, leaves, drains or changes budget, a route or model change, and a
 * memory record whose displaced copies or budget changed; status and usage
 * changes wait for the periodic pass.
 */
export class PlacementView implements LeaderHeld {
  readonly #views: PrefixView<unknown>[];
  readonly #nodes;
  readonly #memory;
  readonly #statuses;
  readonly #usage;
  readonly #models;
  readonly #versions;
  readonly #routes;

  constructor(tables: EtcdTables, onWake: () => void) {
    const { keys } = tables;
    const wake = (): void => onWake();
    this.#nodes = tables.view(keys.nodesPrefix(), 'node', { onChange: wake });
    this.#memory = tables.view(keys.nodeMemoryPrefix(), 'memory', { onChange: (before, after) => (memoryMatters(before, after) ? onWake() : undefined) });
    this.#statuses = tables.view(keys.statusPrefix(), 'status', { project: placementStatus });
    this.#usage = tables.view(keys.usagePrefix(), 'usage', {});
    this.#models = tables.view(keys.modelsPrefix(), 'model', { onChange: wake });
    this.#versions = tables.view(keys.versionsPrefix(), 'version', { project: placementVersion });
    // Invalid routes are reported by the admin API and the nodes; placement leaves them alone.
    this.#routes = tables.view(keys.routesPrefix(), 'route', { onChange: wake, quiet: true });
    this.#views = [this.#nodes, this.#memory, this.#statuses, this.#usage, this.#models, this.#versions, this.#routes] as PrefixView<unknown>[];
  }

  open(): void {
    for (const view of this.#views) view.open();
  }

  close(): void {
    for (const view of this.#views) view.close();
  }

  /** Reads every prefix again (and watches from there): what a pass asked for from outside sees (tests). */
  reload(): void {
    for (const view of this.#views) view.reload();
  }

  /** Changes the watches brought since the views opened (tests and diagnostics). */
  get changes(): number {
    return this.#views.reduce((sum, view) => sum + view.changes, 0);
  }

  /** The current copy, once every view holds its prefix; opens the views when closed. */
  async read(): Promise<PlacementViewRead> {
    this.open();
    await Promise.all(this.#views.map((view) => view.ready()));
    return {
      nodes: this.#nodes.values(),
      memory: this.#memory.values(),
      statuses: this.#statuses.values(),
      usage: this.#usage.values(),
      models: this.#models.values(),
      versions: this.#versions.values(),
      routes: this.#routes.values(),
    };
  }
}

/** A memory record's change that can change a decision: its budget, or which placed copies it displaced. */
function memoryMatters(before: NodeMemoryRecord | undefined, after: NodeMemoryRecord | undefined): boolean {
  if (!before || !after) return true;
  return before.budgetBytes !== after.budgetBytes || before.displaced.join() !== after.displaced.join();
}
