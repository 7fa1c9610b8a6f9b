import { randomBytes } from 'node:crypto';
import type { HistoryEntryRecord } from '@switchyard/core';

/** Digits of the millisecond time that starts an entry id: enough until the year 33658. */
const TIME_DIGITS = 15;

/** What {@link historyEntryId} produces. */
export const HISTORY_ENTRY_ID = /^\d{15}-[0-9a-f]{6}$/;

/**
 * The id of an audit log entry: the zero-padded epoch milliseconds, so a
 * descending key sort lists newest first, and a random suffix so two changes
 * in the same millisecond do not overwrite each other.
 */
export function historyEntryId(atMs: number, random: (bytes: number) => Buffer = randomBytes): string {
  return `${String(Math.max(0, Math.trunc(atMs))).padStart(TIME_DIGITS, '0')}-${random(3).toString('hex')}`;
}

/** What a mutating RPC changed, for {@link historyEntry}. */
export interface Change {
  at: string;
  actor: string;
  /** The RPC's name, e.g. SetRoute. */
  action: string;
  model: string;
  version?: string;
  /** The stored record before the change; null when there was none. */
  before: unknown;
  /** The stored record after the change; null when there is none. */
  after: unknown;
}

/** The audit log entry recording a change. */
export function historyEntry(change: Change): HistoryEntryRecord {
  return {
    at: change.at,
    actor: change.actor,
    action: change.action,
    model: change.model,
    version: change.version ?? '',
    before: change.before ?? null,
    after: change.after ?? null,
  };
}
