import { setTimeout as sleep } from 'node:timers/promises';
import {
  GrpcStatus,
  RECORD_LIMITS,
  SwitchyardError,
  internal,
  invalidArgument,
  parseStored,
  recordLimitError,
  unavailable,
  utf8Bytes,
  type HistoryEntryRecord,
  type KeyLayout,
} from '@switchyard/core';
import type { EtcdAccess, TxnCompare, TxnOp, TxnResult } from './etcd-client.js';
import type { RecordKind } from './etcd-read.js';
import { auditKey, recordKinds, type RecordKinds } from './etcd-records.js';

/** A compared key whose revision was not the one expected when the write was tried. */
export interface KeyConflict {
  key: string;
  /** The revision compared ('0': expected absent). */
  expected: string;
  /** The key as it is now; undefined when absent. */
  now: { modRevision: string; createRevision: string } | undefined;
}

/** Outcome of {@link GuardedWrite.commit}. */
export type WriteOutcome =
  /** Every compare held: the writes and their audit entries are in etcd at `revision`. */
  | { status: 'written'; revision: string }
  /**
   * A compare failed: nothing was written. `changed` lists the compared keys
   * that are not as expected now; it is empty when only a prefix compare
   * failed, or a key changed and changed back.
   */
  | { status: 'conflict'; changed: KeyConflict[] }
  /**
   * Refused before etcd was called: a value failed its schema, or the write
   * breaks a rule of the layer, or (`limit`) a record is past a size limit
   * (RECORD_LIMITS in core's schemas.ts).
   */
  | { status: 'refused'; key: string; error: string; limit?: true };

/** Pause before reading a write's audit entry back a second time. */
const SETTLE_PAUSE_MS = 1100;

/** What a record under a `target/` table is called in limit messages. */
const RECORD_WHAT: Partial<Record<string, 'model' | 'version' | 'route'>> = { models: 'model', versions: 'version', routes: 'route' };

/** Bytes of the values of one write, well under etcd's default request limit (1.5 MiB) with its keys and framing. */
export const MAX_WRITE_BYTES = 1024 * 1024;

/**
 * The one way `target/` is written. A write collects what it was decided
 * from (the mod revisions of the keys read, or "no key under this prefix
 * changed since revision N"), the values it writes and the audit entries
 * that record it, and commits them as one transaction. Before etcd is called
 * every value is checked against the schema its key's table reads it with,
 * and a write without a compare or without an audit entry is refused, so
 * "every write is a compare-and-swap with its audit entry" holds by
 * construction. Two writers deciding from the same reads race on the same
 * revisions: exactly one applies.
 *
 * Placement keys (`target/placements/`, the elected placer's) are the one
 * exception to the audit rule: a write of placements only carries no audit
 * entry, since the placer rewrites them as load and nodes change and would
 * push people's changes out of the models' logs; it still compares.
 *
 * Runtime keys (figures, usage, registrations) are not written here: they
 * belong to the nodes and processes that own them.
 */
export class GuardedWrite {
  readonly #access: EtcdAccess;
  readonly #keys: KeyLayout;
  readonly #kinds: RecordKinds;
  readonly #compares: TxnCompare[] = [];
  readonly #puts: { key: string; value: unknown }[] = [];
  readonly #deletes: TxnOp[] = [];
  readonly #audit: HistoryEntryRecord[] = [];
  /** Values as read, by key, from {@link expectStored}: a rewrite is not refused for what it kept of them. */
  readonly #previous = new Map<string, unknown>();
  #committed = false;

  readonly #alongside: ((models: readonly string[]) => Promise<void>) | undefined;

  /**
   * `alongside` runs once the write passed its checks, at the same time as
   * the transaction, with the models it audits (the audit log's trim); the
   * commit resolves once both are done, so it must not throw. Run alongside,
   * not before, it adds no time between the reads a write was decided from
   * and the write.
   */
  constructor(access: EtcdAccess, keys: KeyLayout, kinds: RecordKinds = recordKinds(keys), alongside?: (models: readonly string[]) => Promise<void>) {
    this.#access = access;
    this.#keys = keys;
    this.#kinds = kinds;
    this.#alongside = alongside;
  }

  /** Applies only if `key` is still at `modRevision` ('0': still absent). */
  expectRevision(key: string, modRevision: string): this {
    this.#compares.push({ key, modRevision });
    return this;
  }

  /** Applies only if the stored record read is unchanged. */
  expectStored(stored: { key: string; modRevision: string; value?: unknown }): this {
    if (stored.value !== undefined) this.#previous.set(stored.key, stored.value);
    return this.expectRevision(stored.key, stored.modRevision);
  }

  /** Applies only if `key` still has `createRevision` ('0': still absent): it was not deleted and created again. */
  expectCreated(key: string, createRevision: string): this {
    this.#compares.push({ key, createRevision });
    return this;
  }

  /** Applies only if no key under `prefix` was created or changed after `revision` (a range read at that revision). */
  expectUnchangedSince(prefix: string, revision: string): this {
    this.#compares.push({ prefix, unchangedSince: revision });
    return this;
  }

  /** Writes `value` (checked against its key's schema at commit) under a model, version or route key. */
  put(key: string, value: unknown): this {
    this.#puts.push({ key, value });
    return this;
  }

  /** Deletes a model, version or route key. */
  delete(key: string): this {
    this.#deletes.push({ delete: key });
    return this;
  }

  /** Deletes every key under a prefix of `target/` (a model's versions). */
  deletePrefix(prefix: string): this {
    this.#deletes.push({ deletePrefix: prefix });
    return this;
  }

  /** Records the change in its model's audit log, in the same transaction. */
  audit(entry: HistoryEntryRecord): this {
    this.#audit.push(entry);
    return this;
  }

  /**
   * Checks, then commits everything as one transaction. A write commits once.
   *
   * etcd may apply a transaction and answer after the deadline (or lose the
   * connection before answering), and etcd3 then sends it again. So the
   * transaction also compares that its first audit entry's key (unique per
   * commit) is still absent, and reads it back when a compare fails: it
   * applies at most once however often it is sent, and a copy that finds
   * the entry there reports the earlier copy's success. When etcd3 gives up
   * without an answer, the entry is read back to settle what happened.
   * @throws UNAVAILABLE when etcd cannot tell whether the write applied.
   */
  async commit(): Promise<WriteOutcome> {
    if (this.#committed) return { status: 'refused', key: '', error: 'this write was committed already; build a new one' };
    this.#committed = true;
    const auditKeys = this.#audit.map((entry) => auditKey(this.#keys, entry));
    const refused = this.#check(auditKeys);
    if (refused) return refused;
    if (this.#audit.length === 0) return this.#commitUnaudited();
    const guard = auditKeys[0]!;
    const success: TxnOp[] = [
      ...this.#puts.map(({ key, value }) => ({ put: key, value: JSON.stringify(value) })),
      ...this.#deletes,
      ...this.#audit.map((entry, i) => ({ put: auditKeys[i]!, value: JSON.stringify(entry) })),
    ];
    // On failure, read every compared key back, so the caller learns which one moved, and the guard.
    const compared = this.#compares.flatMap((c) => ('key' in c ? [c] : []));
    const compares: TxnCompare[] = [...this.#compares, { key: guard, createRevision: '0' }];
    const failure: TxnOp[] = [...compared.map((c) => ({ get: c.key })), { get: guard }];
    const guardValue = JSON.stringify(this.#audit[0]);
    const send = (): Promise<TxnResult> => this.#access.txn(compares, success, failure);
    const alongside = this.#alongside?.([...new Set(this.#audit.map((e) => e.model))]);
    try {
      let result: TxnResult;
      try {
        result = await send();
      } catch (err) {
        return await this.#settle(err, { key: guard, value: guardValue }, () => send().then((r) => this.#outcome(r, compared, guardValue)));
      }
      return this.#outcome(result, compared, guardValue);
    } finally {
      await alongside;
    }
  }

  /**
   * A write of placements only (no audit entry, so no guard key): a copy
   * etcd3 sends again after an unanswered first one fails its compares, as
   * the first moved the keys, and reports a conflict; the placer then reads
   * again and finds its own write. When etcd cannot be reached the outcome
   * is unknown and the placer's next pass settles it the same way.
   */
  async #commitUnaudited(): Promise<WriteOutcome> {
    const compared: { key: string; modRevision?: string; createRevision?: string }[] = this.#compares.flatMap((c) => ('key' in c ? [c] : []));
    const success: TxnOp[] = [...this.#puts.map(({ key, value }) => ({ put: key, value: JSON.stringify(value) })), ...this.#deletes];
    const result = await this.#access.txn(this.#compares, success, compared.map((c) => ({ get: c.key })));
    if (result.succeeded) return { status: 'written', revision: result.revision };
    return { status: 'conflict', changed: conflicts(result, compared) };
  }

  #outcome(result: TxnResult, compared: { key: string; modRevision?: string; createRevision?: string }[], guardValue: string): WriteOutcome {
    if (result.succeeded) return { status: 'written', revision: result.revision };
    // Every key of a transaction carries its revision: the guard's is the write's.
    const landed = result.reads[compared.length];
    if (landed?.value.toString('utf8') === guardValue) return { status: 'written', revision: landed.mod_revision };
    return { status: 'conflict', changed: conflicts(result, compared) };
  }

  /**
   * After a failed send whose outcome is unknown (etcd unreachable or late):
   * the guard key says whether it applied; if not (yet), sending the same
   * transaction again is safe, as the guard lets only one copy apply.
   */
  async #settle(err: unknown, guard: { key: string; value: string }, again: () => Promise<WriteOutcome>): Promise<WriteOutcome> {
    if (!(err instanceof SwitchyardError) || err.code !== GrpcStatus.UNAVAILABLE) throw err;
    try {
      const { kv } = await this.#access.get(guard.key).catch(async () => {
        // The failures that made the send fail may have opened etcd3's circuit breaker, which half-opens after 1 s.
        await sleep(SETTLE_PAUSE_MS);
        return this.#access.get(guard.key);
      });
      // Another write's entry under the same id (same millisecond, same 24 random bits): this one cannot apply.
      if (kv) return kv.value.toString('utf8') === guard.value ? { status: 'written', revision: kv.mod_revision } : { status: 'conflict', changed: [] };
      return await again();
    } catch (second) {
      throw unavailable(
        `etcd did not confirm a write, and whether it applied cannot be told now (${err.rawMessage}); check the model's history (switchyard history) before repeating it`,
        second,
      );
    }
  }

  #check(auditKeys: readonly string[]): WriteOutcome | undefined {
    if (this.#compares.length === 0) return { status: 'refused', key: '', error: 'a write of target/ must compare what it was decided from' };
    const targetPrefix = this.#keys.targetPrefix();
    const deleted = this.#deletes.map((op) => ('delete' in op ? op.delete : 'deletePrefix' in op ? op.deletePrefix : ''));
    // Placements are the placer's bookkeeping, rewritten as load and nodes come and go, not a person's change: no audit entry.
    const placementsOnly = [...this.#puts.map((p) => p.key), ...deleted].every((key) => this.#keys.parse(key)?.kind === 'placements');
    if (this.#audit.length === 0 && !placementsOnly) return { status: 'refused', key: '', error: 'a write of target/ must carry its audit entry' };
    for (const key of deleted) {
      if (!key.startsWith(targetPrefix)) return { status: 'refused', key, error: `only keys under ${targetPrefix} are deleted by a guarded write` };
    }
    let bytes = 0;
    for (const { key, value } of this.#puts) {
      const error = this.#valueError(key, value);
      if (error !== undefined) return { status: 'refused', key, error };
      const limit = recordLimitError(RECORD_WHAT[this.#keys.parse(key)?.kind ?? 'routes'] ?? 'route', value, this.#previous.get(key));
      if (limit !== undefined) return { status: 'refused', key, error: limit, limit: true };
      bytes += utf8Bytes(JSON.stringify(value));
    }
    for (const [i, entry] of this.#audit.entries()) {
      const key = auditKeys[i]!;
      const error = validate(this.#kinds.history, key, entry);
      if (error !== undefined) return { status: 'refused', key, error };
      const size = utf8Bytes(JSON.stringify(entry));
      if (size > RECORD_LIMITS.auditEntryBytes) return { status: 'refused', key, error: `the audit entry is ${size} bytes; at most ${RECORD_LIMITS.auditEntryBytes}` };
      bytes += size;
    }
    if (bytes > MAX_WRITE_BYTES) return { status: 'refused', key: '', error: `the write would store ${bytes} bytes at once; at most ${MAX_WRITE_BYTES}`, limit: true };
    return undefined;
  }

  #valueError(key: string, value: unknown): string | undefined {
    const parsed = this.#keys.parse(key);
    switch (parsed?.kind) {
      case 'models':
        return validate(this.#kinds.model, key, value);
      case 'versions':
        return validate(this.#kinds.version, key, value);
      case 'routes':
        return validate(this.#kinds.route, key, value);
      case 'placements':
        return validate(this.#kinds.placement, key, value);
      default:
        return `only model, version, route and placement keys under ${this.#keys.targetPrefix()} are written by a guarded write`;
    }
  }
}

/**
 * The outcome of a commit that was not refused. A record past a size limit
 * is the caller's: INVALID_ARGUMENT (the admin API's own checks usually
 * refuse it first, with the request's field names). Any other refused write
 * is a bug of the code that built it (a value that fails its own schema, a
 * missing audit entry), never the caller's: it is thrown as INTERNAL.
 */
export function notRefused(outcome: WriteOutcome): Exclude<WriteOutcome, { status: 'refused' }> {
  if (outcome.status !== 'refused') return outcome;
  if (outcome.limit) throw invalidArgument(`${outcome.error}; nothing was written`);
  throw internal(`refused to write etcd key ${outcome.key || '(none)'}: ${outcome.error}`);
}

/** The compared keys a failed transaction found moved, from the reads of its failure branch (in compare order). */
function conflicts(result: TxnResult, compared: readonly { key: string; modRevision?: string; createRevision?: string }[]): KeyConflict[] {
  const changed: KeyConflict[] = [];
  compared.forEach((c, i) => {
    const kv = result.reads[i];
    const now = kv ? { modRevision: kv.mod_revision, createRevision: kv.create_revision } : undefined;
    const expected = c.modRevision ?? c.createRevision ?? '0';
    const actual = c.modRevision !== undefined ? (now?.modRevision ?? '0') : (now?.createRevision ?? '0');
    if (actual !== expected) changed.push({ key: c.key, expected, now });
  });
  return changed;
}

/** Checks a value as it will be read back: serialized, parsed against its schema, and matched to its key. */
function validate<T>(kind: RecordKind<T>, key: string, value: unknown): string | undefined {
  const parsed = parseStored(kind.schema, JSON.stringify(value));
  if (!parsed.ok) return `the ${kind.what} record fails its schema: ${parsed.error}`;
  return kind.check?.(key, parsed.value);
}
