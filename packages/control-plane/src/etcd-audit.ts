import type { HistoryEntryRecord } from '@switchyard/core';
import { EtcdAccess } from './etcd-client.js';
import type { TableContext } from './etcd-table-context.js';

/** One slice of a model's audit log, newest first. */
export interface HistoryRange {
  /** The valid entries with their ids; invalid ones are logged and skipped. */
  entries: { id: string; record: HistoryEntryRecord }[];
  /** Id of the last (oldest) entry of the slice, valid or not: where the next slice starts. */
  lastId: string | undefined;
  /** Whether older entries remain. */
  more: boolean;
}

/** Newest audit entries kept per model: see {@link AuditTable.trim}. */
export const DEFAULT_HISTORY_LIMIT = 1000;

/**
 * The `audit/` table. Entries are written only by a guarded write
 * (etcd-guarded-write.ts), in the transaction of the change they record;
 * they outlive their model, and only {@link trim} deletes them: each model
 * keeps its newest entries, up to a limit.
 */
export class AuditTable {
  constructor(
    private readonly t: TableContext,
    /** How many entries a model keeps (ControlPlaneOptions.historyEntriesPerModel). */
    readonly limit: number = DEFAULT_HISTORY_LIMIT,
  ) {}

  /**
   * Once a model's log holds {@link limit} entries, deletes its oldest so
   * that 90 % of the limit remain. Run alongside each guarded write (whose
   * own entries the count may miss), so a log holds at most the limit plus
   * the entries of the writes in flight. The deletion (a keys-only read
   * and one range delete) runs once per tenth of the limit; every other
   * write costs one count. Unconditional: entries are never rewritten, and
   * two writers trimming at once delete the same oldest keys. Resolves how
   * many were deleted.
   */
  async trim(model: string): Promise<number> {
    const prefix = this.t.keys.historyPrefix(model);
    const count = await this.t.access.count(prefix);
    if (count < this.limit) return 0;
    const excess = count - Math.floor(this.limit * 0.9);
    const oldest = await this.t.access.keys(prefix, undefined, excess);
    const last = oldest[oldest.length - 1];
    if (last === undefined) return 0;
    // A NUL byte sorts right after the key itself: the range ends just past it.
    await this.t.access.deleteRange(prefix, `${last}\0`);
    return oldest.length;
  }

  /**
   * Up to `limit` entries of a model's audit log, newest first, starting
   * after (older than) the entry `before` when given. (etcd applies the limit
   * of a descending read after sorting the range server-side; the range ends
   * at `before`, so later pages read less.)
   */
  async read(model: string, options: { before?: string; limit: number }): Promise<HistoryRange> {
    const prefix = this.t.keys.historyPrefix(model);
    const end = options.before === undefined ? EtcdAccess.prefixEnd(prefix) : this.t.keys.history(model, options.before);
    const read = await this.t.access.range({ start: prefix, end }, { descending: true, limit: options.limit });
    const entries: HistoryRange['entries'] = [];
    for (const kv of read.kvs) {
      const parsed = this.t.reader.tolerant(kv, this.t.kinds.history);
      if (parsed.ok) entries.push({ id: parsed.stored.key.slice(prefix.length), record: parsed.stored.value });
    }
    const last = read.kvs[read.kvs.length - 1];
    return { entries, lastId: last?.key.toString('utf8').slice(prefix.length), more: read.more };
  }
}
