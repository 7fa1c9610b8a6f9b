import { CompareResult, CompareTarget, Range, type Etcd3, type ICompare, type IRequestOp } from 'etcd3';
import type { HistoryEntryRecord, KeyLayout } from '@switchyard/core';
import { etcdCall } from './etcd-errors.js';
import { historyEntryId } from './history-entries.js';

/** One retirement step as a single etcd transaction. */
export interface GuardedWrite {
  /** Keys that must still be at these mod revisions ('0': still absent). */
  expect: { key: string; modRevision: string }[];
  /** Prefixes in which no key may have been created or changed after `revision` (usage records, read at once). */
  unchangedSince?: { prefix: string; revision: string }[];
  puts: { key: string; value: unknown }[];
  /** Audit entries, written in the same transaction so a step and its record never part. */
  history: HistoryEntryRecord[];
}

/**
 * Applies retirement steps with compare-and-swap: a step decided from a
 * version, route and usage records applies only if none of them changed
 * since they were read. Two sweepers deciding the same step from the same
 * reads race on the same revisions, so exactly one of them succeeds.
 */
export class RetirementStore {
  constructor(
    private readonly etcd: Etcd3,
    private readonly keys: KeyLayout,
  ) {}

  /** Resolves false when anything compared had changed (nothing was written). */
  async commit(write: GuardedWrite): Promise<boolean> {
    const compare: ICompare[] = write.expect.map(({ key, modRevision }) => ({
      key: Buffer.from(key),
      target: CompareTarget.Mod,
      result: CompareResult.Equal,
      mod_revision: modRevision,
    }));
    for (const { prefix, revision } of write.unchangedSince ?? []) {
      const range = Range.prefix(prefix);
      compare.push({
        key: range.start,
        range_end: range.end,
        target: CompareTarget.Mod,
        result: CompareResult.Less,
        mod_revision: (BigInt(revision) + 1n).toString(),
      });
    }
    const put = (key: string, value: unknown): IRequestOp => ({ request_put: { key: Buffer.from(key), value: Buffer.from(JSON.stringify(value)) } });
    const success = [
      ...write.puts.map((p) => put(p.key, p.value)),
      ...write.history.map((h) => put(this.keys.history(h.model, historyEntryId(Date.parse(h.at))), h)),
    ];
    const result = await etcdCall(() => this.etcd.kv.txn({ compare, success, failure: [] }));
    return result.succeeded;
  }
}
