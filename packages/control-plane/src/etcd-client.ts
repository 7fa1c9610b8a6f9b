import { CompareResult, CompareTarget, Range, type Etcd3, type ICompare, type IKeyValue, type IRequestOp, type Lease, type Watcher } from 'etcd3';
import { GrpcStatus, SwitchyardError } from '@switchyard/core';
import { readRangePaged } from '@switchyard/core/etcd';
import { etcdCall } from './etcd-errors.js';

// The rest of the control plane names etcd3's types through these aliases, so
// this file (with etcd-errors.ts) is the only one that depends on etcd3.
/** The etcd client the control plane is given; it does not close it. */
export type EtcdClient = Etcd3;
/** A key-value pair as etcd returns it. */
export type EtcdKv = IKeyValue;
/** An etcd lease, for keys that must vanish with their process. */
export type EtcdLease = Lease;
/** A watch on a range of keys. */
export type EtcdWatcher = Watcher;

/** One condition of a transaction. An absent key compares as revision 0. */
export type TxnCompare =
  /** The key's mod revision is still this one ('0': still absent). */
  | { key: string; modRevision: string }
  /** The key's create revision is this one: it was not deleted and created again ('0': still absent). */
  | { key: string; createRevision: string }
  /** No key under the prefix was created or changed after `revision`. */
  | { prefix: string; unchangedSince: string };

/** One operation of a transaction. */
export type TxnOp =
  | { put: string; value: string; lease?: string }
  | { delete: string }
  | { deletePrefix: string }
  | { get: string };

/** A committed transaction: whether its compares held, and what its operations returned (ranges only). */
export interface TxnResult {
  succeeded: boolean;
  /** The etcd revision after the transaction (or of its reads, when it failed). */
  revision: string;
  /** For each operation of the branch that ran: the key read by a `get`, undefined for the rest. */
  reads: (EtcdKv | undefined)[];
}

/** Keys per call of a keys-only read. */
const KEY_PAGE = 10_000;

/** One range read. */
export interface RangeRead {
  kvs: EtcdKv[];
  /** Whether keys remain past a `limit`. */
  more: boolean;
  /** The etcd revision the range was read at. */
  revision: string;
}

/**
 * The one place the control plane calls etcd. Every call is converted by
 * {@link etcdCall} (UNAVAILABLE when etcd cannot be reached, INTERNAL
 * otherwise), so no caller sees a raw etcd3 or gRPC error. Deliberately
 * untyped (keys and strings): the tables (etcd-models.ts, etcd-versions.ts,
 * etcd-routes.ts, etcd-audit.ts, etcd-figures.ts, etcd-cluster.ts) give the
 * keys their records, and every write of `target/` goes through
 * etcd-guarded-write.ts.
 */
export class EtcdAccess {
  readonly #client: EtcdClient;

  constructor(client: EtcdClient) {
    this.#client = client;
  }

  /** One key, read at `revision` when given. */
  async get(key: string, revision?: string): Promise<{ kv: EtcdKv | undefined; revision: string }> {
    const builder = this.#client.get(key);
    if (revision !== undefined) builder.revision(revision);
    const response = await etcdCall(() => builder.exec());
    return { kv: response.kvs[0], revision: response.header.revision };
  }

  /**
   * Every key under `prefix`, or of [`start`, `end`), in key order unless
   * `descending`; at most `limit` of them (one call); at `revision` when
   * given. Without a limit the range is read in pages at one revision: a
   * prefix that grows with the cluster passes gRPC's 4 MiB message limit
   * (about 6,600 version records, 20,000 node status keys) in one call.
   */
  async range(options: { prefix: string } | { start: string; end: string | Buffer }, read: { revision?: string; limit?: number; descending?: boolean } = {}): Promise<RangeRead> {
    if (read.limit === undefined) {
      const paged = await etcdCall(() =>
        readRangePaged(this.#client, options, { ...(read.revision !== undefined ? { revision: read.revision } : {}), ...(read.descending ? { descending: true } : {}) }),
      );
      return { kvs: paged.kvs, more: false, revision: paged.revision };
    }
    const builder =
      'prefix' in options
        ? this.#client.getAll().prefix(options.prefix)
        : this.#client.getAll().inRange({ start: options.start, end: options.end });
    // No explicit ascending sort: etcd returns key order anyway, and a sorted range makes it read the whole range before applying the limit.
    if (read.descending) builder.sort('Key', 'Descend');
    if (read.revision !== undefined) builder.revision(read.revision);
    // A slice of large values can pass gRPC's 4 MiB limit too: ask again for half as many (etcd's `more` then says keys remain).
    for (let limit = read.limit; ; limit = Math.ceil(limit / 2)) {
      builder.limit(limit);
      try {
        const response = await etcdCall(() => builder.exec());
        return { kvs: response.kvs, more: response.more, revision: response.header.revision };
      } catch (err) {
        if (!(err instanceof SwitchyardError && err.code === GrpcStatus.RESOURCE_EXHAUSTED && /answer is larger than/.test(err.message)) || limit === 1) throw err;
      }
    }
  }

  /** The end of the range of keys under `prefix`, for a range read that starts inside it. */
  static prefixEnd(prefix: string): Buffer {
    return Range.prefix(prefix).end;
  }

  /** The keys under `prefix` in key order, at `revision` when given; the first `limit` when given (else every one, in pages). */
  async keys(prefix: string, revision?: string, limit?: number): Promise<string[]> {
    if (limit === undefined) return this.rangeKeys({ start: prefix, end: EtcdAccess.prefixEnd(prefix) }, revision);
    const builder = this.#client.getAll().prefix(prefix).limit(limit);
    if (revision !== undefined) builder.revision(revision);
    return etcdCall(() => builder.keys());
  }

  /**
   * Every key of [`start`, `end`) in key order, without values, in pages of
   * 10,000 keys at one revision (`revision`, or the first page's): a model's
   * version names need not carry its version records (≈ 600 bytes each).
   */
  async rangeKeys(range: { start: string; end: string | Buffer }, revision?: string): Promise<string[]> {
    const keys: string[] = [];
    let start: Buffer = Buffer.from(range.start);
    let at = revision;
    for (;;) {
      const request = { key: start, range_end: Buffer.from(range.end), limit: KEY_PAGE, keys_only: true, ...(at !== undefined ? { revision: at } : {}) };
      // The raw call: the builder's keys() answers neither the revision nor whether keys remain.
      const response = await etcdCall(() => this.#client.kv.range(request));
      at ??= response.header.revision;
      for (const kv of response.kvs) keys.push(kv.key.toString());
      const last = response.kvs[response.kvs.length - 1];
      if (!response.more || last === undefined) return keys;
      start = Buffer.concat([last.key, Buffer.from([0])]);
    }
  }

  /** How many keys lie under `prefix` (a count, no values read). */
  async count(prefix: string): Promise<number> {
    return etcdCall(() => this.#client.getAll().prefix(prefix).count());
  }

  /**
   * Deletes one key, unconditionally. Only for runtime figures, whose
   * writers are nodes that recreate them; `target/` is written only by a
   * guarded write.
   */
  async deleteKey(key: string): Promise<void> {
    await etcdCall(() => this.#client.delete().key(key).exec());
  }

  /** Deletes every key under `prefix`, unconditionally; same limits as {@link deleteKey}. */
  async deletePrefix(prefix: string): Promise<void> {
    await etcdCall(() => this.#client.delete().prefix(prefix).exec());
  }

  /** Deletes every key of [`start`, `end`), unconditionally: only for trimming the oldest audit entries (etcd-audit.ts). */
  async deleteRange(start: string, end: string): Promise<void> {
    await etcdCall(() => this.#client.delete().inRange({ start, end }).exec());
  }

  /** One transaction: `success` runs when every compare holds, `failure` otherwise. */
  async txn(compares: readonly TxnCompare[], success: readonly TxnOp[], failure: readonly TxnOp[] = []): Promise<TxnResult> {
    const result = await etcdCall(() =>
      this.#client.kv.txn({ compare: compares.map(toCompare), success: success.map(toOp), failure: failure.map(toOp) }),
    );
    return {
      succeeded: result.succeeded,
      revision: result.header.revision,
      reads: result.responses.map((r) => (r.response_range ? (r.response_range.kvs[0] ?? undefined) : undefined)),
    };
  }

  /**
   * A watch of every key under `prefix`, from revision `fromRevision` when
   * given (a read's revision + 1: nothing between the read and the watch is
   * missed); it reports its own errors as 'error' events, a compacted
   * `fromRevision` included.
   */
  watchPrefix(prefix: string, options: { fromRevision?: string } = {}): EtcdWatcher {
    const builder = this.#client.watch().prefix(prefix);
    if (options.fromRevision !== undefined) builder.startRevision(options.fromRevision);
    // watcher(), not create(): create()'s promise never settles while etcd is down.
    return builder.watcher();
  }

  /** A lease of `ttlSeconds`, granted on first use. */
  lease(ttlSeconds: number, options?: { autoKeepAlive?: boolean }): EtcdLease {
    return this.#client.lease(ttlSeconds, options);
  }

  /** Grants the lease now; resolves its id as a decimal string. */
  async grant(lease: EtcdLease): Promise<string> {
    return String(await etcdCall(() => lease.grant()));
  }

  /** Writes a key bound to `lease` (granting it first if needed), unconditionally: the key is this process's own. */
  async putWithLease(lease: EtcdLease, key: string, value: string): Promise<void> {
    await etcdCall(() => lease.put(key).value(value).exec());
  }

  /** Revokes a lease, deleting its keys; resolves when etcd confirmed it. */
  async revoke(lease: EtcdLease, deadlineMs?: number): Promise<void> {
    await etcdCall(() => lease.revoke(deadlineMs === undefined ? undefined : { deadline: Date.now() + deadlineMs }));
  }
}

/**
 * Cancels a watcher and silences whatever it still emits: a response already
 * on its way, or the error of a watcher etcd cancelled (cancel() on that one
 * never resolves).
 */
export function closeWatcher(watcher: EtcdWatcher): void {
  watcher.removeAllListeners();
  watcher.on('error', () => undefined);
  void watcher.cancel().catch(() => undefined);
}

function toCompare(c: TxnCompare): ICompare {
  if ('prefix' in c) {
    const range = Range.prefix(c.prefix);
    return {
      key: range.start,
      range_end: range.end,
      target: CompareTarget.Mod,
      result: CompareResult.Less,
      mod_revision: (BigInt(c.unchangedSince) + 1n).toString(),
    };
  }
  if ('createRevision' in c) return { key: Buffer.from(c.key), target: CompareTarget.Create, result: CompareResult.Equal, create_revision: c.createRevision };
  return { key: Buffer.from(c.key), target: CompareTarget.Mod, result: CompareResult.Equal, mod_revision: c.modRevision };
}

function toOp(op: TxnOp): IRequestOp {
  if ('put' in op) {
    return { request_put: { key: Buffer.from(op.put), value: Buffer.from(op.value), ...(op.lease === undefined ? {} : { lease: op.lease }) } };
  }
  if ('delete' in op) return { request_delete_range: { key: Buffer.from(op.delete) } };
  if ('deletePrefix' in op) {
    const range = Range.prefix(op.deletePrefix);
    return { request_delete_range: { key: range.start, range_end: range.end } };
  }
  return { request_range: { key: Buffer.from(op.get) } };
}
