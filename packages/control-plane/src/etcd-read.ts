import { internal, parseStored, type Logger } from '@switchyard/core';
import type { EtcdKv } from './etcd-client.js';

/** Records parsed between two turns of the event loop in {@link RecordReader.allYielding}: about 10 ms of work. */
export const PARSE_SLICE = 300;

/** A zod schema of a stored record, as parseStored takes it. */
export type Schema<T> = Parameters<typeof parseStored<T>>[0];

/**
 * Says why a record does not belong under its key, or undefined when it does.
 * A record copied under another key by hand would otherwise be served under a
 * name it does not carry.
 */
export type KeyCheck<T> = (key: string, value: T) => string | undefined;

/** A record read from etcd, with the revisions that make a later write conditional. */
export interface Stored<T> {
  key: string;
  value: T;
  /** etcd mod revision of the key (a decimal string, as etcd3 returns it). */
  modRevision: string;
  /** etcd create revision of the key; stays the same until the key is deleted. */
  createRevision: string;
}

/** A key's mod revision and its value as JSON (the raw text when it is not JSON), valid or not. */
export interface RawRecord {
  modRevision: string;
  value: unknown;
}

/** How one kind of record is read: its schema, what to call it in messages, and its key check. */
export interface RecordKind<T> {
  schema: Schema<T>;
  /** e.g. 'version', in "ignoring an invalid version record". */
  what: string;
  check?: KeyCheck<T>;
}

/** A parsed key-value pair, or why it was refused. */
export type Parsed<T> = { ok: true; stored: Stored<T> } | { ok: false; key: string; error: string };

/**
 * Reading stored records, written once: parse the value against its schema,
 * check it belongs under its key, and log a refused one with its key. Lists
 * skip what they refuse; a direct get throws INTERNAL naming the key, so an
 * operator can fix or delete it.
 */
export class RecordReader {
  constructor(private readonly logger: Logger) {}

  /** Parses without logging. */
  parse<T>(kv: EtcdKv, kind: RecordKind<T>): Parsed<T> {
    const key = kv.key.toString('utf8');
    const parsed = parseStored(kind.schema, kv.value.toString('utf8'));
    if (!parsed.ok) return { ok: false, key, error: parsed.error };
    const mismatch = kind.check?.(key, parsed.value);
    if (mismatch !== undefined) return { ok: false, key, error: mismatch };
    return { ok: true, stored: { key, value: parsed.value, modRevision: kv.mod_revision, createRevision: kv.create_revision } };
  }

  /** Parses, logging a refused record. */
  tolerant<T>(kv: EtcdKv, kind: RecordKind<T>): Parsed<T> {
    const parsed = this.parse(kv, kind);
    if (!parsed.ok) this.logInvalid(parsed.key, kind.what, parsed.error);
    return parsed;
  }

  /** The valid records, in the order given; the others are logged and skipped. */
  all<T>(kvs: readonly EtcdKv[], kind: RecordKind<T>): Stored<T>[] {
    const out: Stored<T>[] = [];
    for (const kv of kvs) {
      const parsed = this.tolerant(kv, kind);
      if (parsed.ok) out.push(parsed.stored);
    }
    return out;
  }

  /**
   * {@link all} for reads that grow with the registry: parsed in slices of
   * {@link PARSE_SLICE} with the event loop let go between them. Parsing
   * 100,000 version records takes 2.5–4 s of CPU here; done in one go it held
   * the loop that long, stalling every admin call and the election lease's
   * keep-alives (a leader stepped down in the bench's registry-scale run).
   */
  async allYielding<T>(kvs: readonly EtcdKv[], kind: RecordKind<T>): Promise<Stored<T>[]> {
    if (kvs.length <= PARSE_SLICE) return this.all(kvs, kind);
    const out: Stored<T>[] = [];
    for (let i = 0; i < kvs.length; i += PARSE_SLICE) {
      if (i > 0) await new Promise<void>((resolve) => setImmediate(resolve));
      out.push(...this.all(kvs.slice(i, i + PARSE_SLICE), kind));
    }
    return out;
  }

  /** The record, or undefined when absent. @throws INTERNAL (logged) when the stored value is invalid. */
  strict<T>(kv: EtcdKv | undefined, kind: RecordKind<T>): Stored<T> | undefined {
    if (!kv) return undefined;
    const parsed = this.tolerant(kv, kind);
    if (parsed.ok) return parsed.stored;
    throw internal(`the ${kind.what} stored at etcd key ${parsed.key} is invalid (${parsed.error}); fix or delete it with etcdctl`);
  }

  logInvalid(key: string, what: string, error: string): void {
    this.logger.warn(`ignoring an invalid ${what} record in etcd; fix or delete it with etcdctl`, { key, error });
  }
}

/** A key's revision and value as JSON, or its raw text when it is not JSON. */
export function rawRecord(kv: EtcdKv): RawRecord {
  const text = kv.value.toString('utf8');
  try {
    return { modRevision: kv.mod_revision, value: JSON.parse(text) as unknown };
  } catch {
    return { modRevision: kv.mod_revision, value: text };
  }
}
