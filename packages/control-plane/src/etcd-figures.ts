import type { RolloutStatsRecord, ShadowStatsRecord, UsageRecord } from '@switchyard/core';
import type { TableContext } from './etcd-table-context.js';

/**
 * The figures nodes publish under `runtime/`: rollout step figures, shadow
 * comparisons and last use of versions. Nodes write them; the control plane
 * reads them and deletes them. Those deletes are unconditional (no compare,
 * no audit entry): the figures are nodes' reports, not target state, and a
 * node that writes again after a delete only recreates what the next
 * clean-up removes.
 */
export class FiguresTable {
  constructor(private readonly t: TableContext) {}

  /** Every node's valid report of one rollout step (one range read). */
  async rolloutStep(model: string, rolloutId: string, step: number): Promise<RolloutStatsRecord[]> {
    const { kvs } = await this.t.access.range({ prefix: this.t.keys.rolloutStatsPrefix(model, rolloutId, step) });
    return this.t.reader.all(kvs, this.t.kinds.rolloutStats).map((s) => s.value);
  }

  /** How many figure keys a rollout still has (a count, no values read). */
  async countRollout(model: string, rolloutId: string): Promise<number> {
    return this.t.access.count(this.t.keys.rolloutStatsPrefix(model, rolloutId));
  }

  /** Deletes every step's figures of a rollout, unconditionally (the controller, once the rollout ended). */
  async deleteRollout(model: string, rolloutId: string): Promise<void> {
    await this.t.access.deletePrefix(this.t.keys.rolloutStatsPrefix(model, rolloutId));
  }

  /** Every node's valid shadow figures of a model, or of one primary or (primary, shadow) pair. */
  async shadow(model: string, primary?: string, shadow?: string): Promise<ShadowStatsRecord[]> {
    const { kvs } = await this.t.access.range({ prefix: this.t.keys.shadowStatsPrefix(model, primary, shadow) });
    return this.t.reader.all(kvs, this.t.kinds.shadowStats).map((s) => s.value);
  }

  /** Deletes the figures of `shadow` against every primary, unconditionally (AddShadow of a version that is not a shadow). */
  async deleteShadow(model: string, shadow: string): Promise<void> {
    const prefix = this.t.keys.shadowStatsPrefix(model);
    const keys = await this.t.access.keys(prefix);
    // Keys are {primary}/{shadow}/{reporter} below the prefix.
    const stale = keys.filter((key) => key.slice(prefix.length).split('/')[1] === shadow);
    for (const key of stale) await this.t.access.deleteKey(key);
  }

  /** Every valid usage record (of one model with `model`), and the revision they were read at. */
  async usage(model?: string): Promise<{ records: UsageRecord[]; revision: string }> {
    const read = await this.t.access.range({ prefix: this.t.keys.usagePrefix(model) });
    return { records: (await this.t.reader.allYielding(read.kvs, this.t.kinds.usage)).map((s) => s.value), revision: read.revision };
  }

  /** Deletes every node's usage record of a version, unconditionally (the sweeper, once the version no longer exists). */
  async deleteUsage(model: string, version: string): Promise<void> {
    await this.t.access.deletePrefix(this.t.keys.usagePrefix(model, version));
  }
}
