import { createHash, randomBytes } from 'node:crypto';
import { utf8Bytes, type HistoryEntryRecord } from '@switchyard/core';

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

/**
 * How an audit entry keeps a record small (docs/etcd-layout.md): a string
 * longer than `textBytes` keeps its start, its size and a hash; a field
 * whose JSON is longer than `fieldBytes` (a signature of many inputs, many
 * labels) keeps its size and hash; a record still longer than `recordBytes`
 * keeps only its size and hash. Enough for `switchyard history` to say what
 * changed (routes, retirement, validation, which fields) without holding
 * descriptions twice per change.
 */
export const AUDIT_COMPACTION = { textBytes: 256, fieldBytes: 2048, recordBytes: 8192 } as const;

/** Characters of a long string an audit entry keeps. */
const KEPT_CHARS = 120;

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

/** The audit log entry recording a change, its records compacted ({@link AUDIT_COMPACTION}). */
export function historyEntry(change: Change): HistoryEntryRecord {
  return {
    at: change.at,
    actor: change.actor,
    action: change.action,
    model: change.model,
    version: change.version ?? '',
    before: compactRecord(change.before ?? null),
    after: compactRecord(change.after ?? null),
  };
}

/** A record as an audit entry keeps it. */
export function compactRecord(record: unknown): unknown {
  if (record === null || typeof record !== 'object') return compactValue(record);
  const compacted = Array.isArray(record) ? record.map(compactField) : Object.fromEntries(Object.entries(record).map(([k, v]) => [k, compactField(v)]));
  const json = JSON.stringify(compacted);
  return utf8Bytes(json) > AUDIT_COMPACTION.recordBytes ? { compacted: digest(json, 'bytes of JSON') } : compacted;
}

function compactField(value: unknown): unknown {
  const compacted = compactValue(value);
  if (compacted === null || typeof compacted !== 'object') return compacted;
  const json = JSON.stringify(compacted);
  return utf8Bytes(json) > AUDIT_COMPACTION.fieldBytes ? digest(json, 'bytes of JSON') : compacted;
}

function compactValue(value: unknown): unknown {
  if (typeof value === 'string') return utf8Bytes(value) > AUDIT_COMPACTION.textBytes ? `${value.slice(0, KEPT_CHARS)}… ${digest(value, 'bytes')}` : value;
  if (Array.isArray(value)) return value.map(compactValue);
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, compactValue(v)]));
  return value;
}

/** "[N bytes, sha256 0123456789abcdef]": tells two values apart without keeping them. */
function digest(text: string, unit: string): string {
  return `[${utf8Bytes(text)} ${unit}, sha256 ${createHash('sha256').update(text).digest('hex').slice(0, 16)}]`;
}
