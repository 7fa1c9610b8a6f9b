import type { PlacementRecord } from '@switchyard/core';
import type { EtcdWatcher } from './etcd-client.js';
import { notRefused } from './etcd-guarded-write.js';
import type { Stored } from './etcd-read.js';
import type { TableContext } from './etcd-table-context.js';

/** One change of the placer: write `record`, or delete the key when it is undefined. */
export interface PlacementChange {
  model: string;
  version: string;
  record: PlacementRecord | undefined;
  /** The key's mod revision the change was decided from ('0': absent). */
  expectedRevision: string;
}

/**
 * The `target/placements/` table (issue #16, docs/placement.md): where each
 * routed version is kept loaded. Only the elected control plane's placer
 * writes it, each change a compare-and-swap on the key's revision without an
 * audit entry (etcd-guarded-write.ts says why); the admin API and the
 * rollout controller read it.
 */
export class PlacementsTable {
  constructor(private readonly t: TableContext) {}

  /** Every valid placement (of one model with `model`), read in pages at one revision; invalid ones are logged and skipped. */
  async list(model?: string): Promise<Stored<PlacementRecord>[]> {
    const { kvs } = await this.t.access.range({ prefix: this.t.keys.placementsPrefix(model) });
    return this.t.reader.all(kvs, this.t.kinds.placement);
  }

  /**
   * Every valid placement, and the mod revision of every placement key, valid
   * or not, by `model/version` (what a change or a delete compares), from one
   * paged read.
   */
  async read(): Promise<{ records: PlacementRecord[]; revisions: Map<string, string> }> {
    const prefix = this.t.keys.placementsPrefix();
    const { kvs } = await this.t.access.range({ prefix });
    const records = this.t.reader.all(kvs, this.t.kinds.placement).map((s) => s.value);
    return { records, revisions: new Map(kvs.map((kv) => [kv.key.toString('utf8').slice(prefix.length), kv.mod_revision])) };
  }

  /** Mod revision of every placement key, valid or not, by `model/version`: what a change or a delete compares. */
  async revisions(): Promise<Map<string, string>> {
    const prefix = this.t.keys.placementsPrefix();
    const { kvs } = await this.t.access.range({ prefix });
    return new Map(kvs.map((kv) => [kv.key.toString('utf8').slice(prefix.length), kv.mod_revision]));
  }

  /** One version's placement; undefined when absent or invalid (logged). */
  async get(model: string, version: string): Promise<Stored<PlacementRecord> | undefined> {
    const { kv } = await this.t.access.get(this.t.keys.placement(model, version));
    if (!kv) return undefined;
    const parsed = this.t.reader.tolerant(kv, this.t.kinds.placement);
    return parsed.ok ? parsed.stored : undefined;
  }

  /** Applies one change if its key is still at the revision it was decided from; resolves whether it applied. */
  async apply(change: PlacementChange): Promise<boolean> {
    const key = this.t.keys.placement(change.model, change.version);
    const write = this.t.write().expectRevision(key, change.expectedRevision);
    if (change.record) write.put(key, change.record);
    else write.delete(key);
    return notRefused(await write.commit()).status === 'written';
  }

  /** A watch of every placement key. */
  watch(): EtcdWatcher {
    return this.t.access.watchPrefix(this.t.keys.placementsPrefix());
  }
}
