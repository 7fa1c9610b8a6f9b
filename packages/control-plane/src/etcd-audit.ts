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

/**
 * The `audit/` table, read side. Entries are written only by a guarded write
 * (etcd-guarded-write.ts), in the transaction of the change they record; they
 * outlive their model and are never deleted by Switchyard.
 */
export class AuditTable {
  constructor(private readonly t: TableContext) {}

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
