import { parseStored, VersionRecordSchema, type Logger, type VersionRecord } from '@switchyard/core';

/** One version key's stored text, and its record once something read it (null: invalid, logged once). */
interface Entry {
  readonly key: string;
  readonly model: string;
  readonly version: string;
  readonly raw: string;
  parsed?: VersionRecord | null;
}

/** A layer's change of one id: the new entry, or deleted. */
type Change = Entry | typeof DELETED;
const DELETED = Symbol('deleted');

/** The smallest delta a snapshot keeps before it is folded into a new base. */
const MIN_DELTA = 64;

/**
 * The versions of the target state, keyed `model/version`, as the node's
 * builder keeps them. Two things keep a registry of 100,000 versions cheap
 * for a node that loads a thousand of them:
 * - a record is parsed (JSON and schema) the first time something reads it,
 *   not when it is read from etcd: a node only ever reads the versions its
 *   routes name, and the cache trimmer once a minute;
 * - a snapshot shares its entries with the previous one: changes go to a
 *   small delta over a base map, folded into a new base once the delta
 *   passes √(size) entries, so a change costs about √(size), not size.
 */
export class VersionMapBuilder {
  private base = new Map<string, Entry>();
  /** Changes since `base`; every snapshot taken since shares `base` and copies this. */
  private delta = new Map<string, Change>();
  private count = 0;

  constructor(private readonly logger: Logger) {}

  set(model: string, version: string, raw: string, key: string): void {
    const id = `${model}/${version}`;
    if (!this.has(id)) this.count++;
    this.delta.set(id, { key, model, version, raw });
  }

  delete(model: string, version: string): void {
    const id = `${model}/${version}`;
    if (!this.has(id)) return;
    this.count--;
    this.delta.set(id, DELETED);
  }

  /** An immutable view of the versions as they are now. */
  snapshot(): VersionMap {
    if (this.delta.size > Math.max(MIN_DELTA, Math.sqrt(this.base.size))) {
      const base = new Map(this.base);
      for (const [id, change] of this.delta) {
        if (change === DELETED) base.delete(id);
        else base.set(id, change);
      }
      this.base = base;
      this.delta = new Map();
    }
    return new VersionMap(this.base, new Map(this.delta), this.count, this.logger);
  }

  private has(id: string): boolean {
    const change = this.delta.get(id);
    return change === undefined ? this.base.has(id) : change !== DELETED;
  }
}

/**
 * One snapshot's versions: a read-only map of parsed records. A stored value
 * that fails its schema (or names another model or version than its key) is
 * logged the first time it is read and reads as absent; `size` still counts it.
 */
export class VersionMap implements ReadonlyMap<string, VersionRecord> {
  constructor(
    private readonly base: ReadonlyMap<string, Entry>,
    private readonly delta: ReadonlyMap<string, Change>,
    readonly size: number,
    private readonly logger: Logger,
  ) {}

  get(id: string): VersionRecord | undefined {
    const change = this.delta.get(id);
    const entry = change === undefined ? this.base.get(id) : change === DELETED ? undefined : change;
    return entry ? this.parse(entry) : undefined;
  }

  has(id: string): boolean {
    return this.get(id) !== undefined;
  }

  *entries(): MapIterator<[string, VersionRecord]> {
    for (const [id, change] of this.delta) {
      if (change === DELETED) continue;
      const record = this.parse(change);
      if (record) yield [id, record];
    }
    for (const [id, entry] of this.base) {
      if (this.delta.has(id)) continue;
      const record = this.parse(entry);
      if (record) yield [id, record];
    }
  }

  *keys(): MapIterator<string> {
    for (const [id] of this.entries()) yield id;
  }

  *values(): MapIterator<VersionRecord> {
    for (const [, record] of this.entries()) yield record;
  }

  [Symbol.iterator](): MapIterator<[string, VersionRecord]> {
    return this.entries();
  }

  forEach(callback: (value: VersionRecord, key: string, map: ReadonlyMap<string, VersionRecord>) => void, thisArg?: unknown): void {
    for (const [id, record] of this.entries()) callback.call(thisArg, record, id, this);
  }

  private parse(entry: Entry): VersionRecord | undefined {
    if (entry.parsed === undefined) {
      const result = parseStored(VersionRecordSchema, entry.raw);
      if (result.ok && result.value.model === entry.model && result.value.version === entry.version) {
        entry.parsed = result.value;
      } else {
        entry.parsed = null;
        this.logger.error('ignoring invalid version record', { key: entry.key, error: result.ok ? 'model/version differ from the key' : result.error });
      }
    }
    return entry.parsed ?? undefined;
  }
}
