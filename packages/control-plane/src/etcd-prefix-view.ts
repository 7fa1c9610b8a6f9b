import type { Logger } from '@switchyard/core';
import { closeWatcher, type EtcdAccess, type EtcdKv, type EtcdWatcher } from './etcd-client.js';
import type { RecordKind, RecordReader } from './etcd-read.js';

/** Options for {@link PrefixView}. */
export interface PrefixViewOptions<T, P> {
  access: EtcdAccess;
  reader: RecordReader;
  prefix: string;
  kind: RecordKind<T>;
  /**
   * What is kept of each record (less memory for a big prefix, e.g. 100,000
   * versions); undefined keeps nothing of it (as if the key were absent).
   * @default the record
   */
  project?: (value: T) => P | undefined;
  /** Invalid records are skipped without a log line (routes: the admin API and the nodes report them). */
  quiet?: boolean;
  /** Called after each change the watch brings (not the reads), with the key's record before and after (undefined: none). */
  onChange?: (before: P | undefined, after: P | undefined) => void;
  logger: Logger;
  /** Delay before reading again after a failed read; doubled after each further failure, up to 5 s. @default 1000 */
  retryMs?: number;
}

/**
 * A watch-fed copy of every valid record under one prefix: one paged range
 * read, then a watch from the revision after it, applying each put and
 * delete. A watch that ends (compaction removed the revision it needed, or
 * etcd cancelled it) is replaced by reading the prefix again; a read that
 * fails is tried again after `retryMs`, then less often (etcd may be down
 * for a while; only the first failure in a row is a warning). While etcd3 reconnects a watch it
 * resumes from the last revision it saw, so nothing is missed. Open only
 * while needed ({@link open}, {@link close}; a LeaderHeld): a follower keeps
 * no copy and no watch.
 */
export class PrefixView<T, P = T> {
  readonly #o: PrefixViewOptions<T, P>;
  #records = new Map<string, P>();
  #values: P[] | undefined;
  #watcher: EtcdWatcher | undefined;
  #ready: Promise<void> | undefined;
  #retry: NodeJS.Timeout | undefined;
  /** Bumped by close() and by every new read, so a read or watch of an older turn applies nothing. */
  #generation = 0;
  /** Reads that failed in a row. */
  #failures = 0;
  /** Changes applied from the watch since the view opened (tests and diagnostics). */
  changes = 0;

  constructor(options: PrefixViewOptions<T, P>) {
    this.#o = options;
  }

  get isOpen(): boolean {
    return this.#ready !== undefined;
  }

  /** Reads the prefix and starts watching it; does nothing when open. */
  open(): void {
    if (this.#ready) return;
    this.#load();
  }

  /** Reads the prefix again and watches from there, keeping the current copy until the read replaces it; opens it when closed. */
  reload(): void {
    this.#load();
  }

  /** Stops watching and forgets every record. */
  close(): void {
    this.#generation++;
    clearTimeout(this.#retry);
    this.#ready = undefined;
    this.#failures = 0;
    this.#dropWatcher();
    this.#records = new Map();
    this.#values = undefined;
  }

  /**
   * Resolves once the view holds the prefix as of a read at least as recent
   * as the last open or watch failure. @throws the read's error (converted by
   * EtcdAccess) when the last read failed; another is on its way.
   */
  async ready(): Promise<void> {
    if (!this.#ready) throw new Error(`the view of ${this.#o.prefix} is not open`);
    await this.#ready;
  }

  /** Every valid record under the prefix, in no fixed order; the same array until something changes. */
  values(): readonly P[] {
    return (this.#values ??= [...this.#records.values()]);
  }

  #load(): void {
    const generation = ++this.#generation;
    this.#dropWatcher();
    const loading = this.#readAndWatch(generation);
    this.#ready = loading;
    loading.catch((err: unknown) => {
      if (generation !== this.#generation) return;
      const fields = { prefix: this.#o.prefix, error: (err as Error).message };
      if (this.#failures++ === 0) this.#o.logger.warn('reading a view from etcd failed; trying again', fields);
      else this.#o.logger.debug('reading a view from etcd failed again', fields);
      this.#scheduleLoad();
    });
  }

  async #readAndWatch(generation: number): Promise<void> {
    const read = await this.#o.access.range({ prefix: this.#o.prefix });
    if (generation !== this.#generation) return;
    const records = new Map<string, P>();
    for (let i = 0; i < read.kvs.length; i++) {
      // Let the event loop go every so often: a status prefix can be 100,000 keys (etcd-read.ts, PARSE_SLICE).
      if (i > 0 && i % 300 === 0) {
        await new Promise<void>((resolve) => setImmediate(resolve));
        if (generation !== this.#generation) return;
      }
      const kv = read.kvs[i]!;
      const value = this.#parse(kv);
      if (value !== undefined) records.set(kv.key.toString('utf8'), value);
    }
    this.#records = records;
    this.#failures = 0;
    this.#values = undefined;
    this.#watch(generation, read.revision);
  }

  #watch(generation: number, revision: string): void {
    const watcher = this.#o.access.watchPrefix(this.#o.prefix, { fromRevision: (BigInt(revision) + 1n).toString() });
    this.#watcher = watcher;
    watcher.on('put', (kv: EtcdKv) => this.#apply(generation, kv.key.toString('utf8'), this.#parse(kv)));
    watcher.on('delete', (kv: EtcdKv) => this.#apply(generation, kv.key.toString('utf8'), undefined));
    watcher.on('error', (err: Error) => {
      if (generation !== this.#generation) return;
      this.#o.logger.info('a view watch ended; reading the prefix again', { prefix: this.#o.prefix, error: err.message });
      this.#load();
    });
  }

  #apply(generation: number, key: string, value: P | undefined): void {
    if (generation !== this.#generation) return;
    const before = this.#records.get(key);
    if (value === undefined) this.#records.delete(key);
    else this.#records.set(key, value);
    this.#values = undefined;
    this.changes++;
    this.#o.onChange?.(before, value);
  }

  #parse(kv: EtcdKv): P | undefined {
    const parsed = this.#o.quiet ? this.#o.reader.parse(kv, this.#o.kind) : this.#o.reader.tolerant(kv, this.#o.kind);
    if (!parsed.ok) return undefined;
    return this.#o.project ? this.#o.project(parsed.stored.value) : (parsed.stored.value as unknown as P);
  }

  #scheduleLoad(): void {
    clearTimeout(this.#retry);
    const generation = this.#generation;
    this.#retry = setTimeout(() => {
      if (generation === this.#generation) this.#load();
    }, Math.min(5000, (this.#o.retryMs ?? 1000) * 2 ** Math.min(this.#failures - 1, 3)));
    this.#retry.unref();
  }

  #dropWatcher(): void {
    const watcher = this.#watcher;
    this.#watcher = undefined;
    if (watcher) closeWatcher(watcher);
  }
}
