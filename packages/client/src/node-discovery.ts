import { lookup } from 'node:dns/promises';
import type { Etcd3, Watcher } from 'etcd3';
import { KeyLayout, splitHostPort, type NodeRecord } from '@switchyard/core';

/** Called with the full set of node addresses (host:port) whenever it changes. */
export type AddressesListener = (addresses: string[]) => void;

/** Where an {@link InferenceClient} finds its nodes. */
export interface NodeDiscovery {
  /** Starts reporting; the first report may come before or after this resolves. */
  start(onChange: AddressesListener): Promise<void>;
  close(): void;
}

/** A fixed list of host:port addresses. */
export class StaticDiscovery implements NodeDiscovery {
  constructor(private readonly addresses: readonly string[]) {
    if (addresses.length === 0) throw new TypeError('nodes must list at least one host:port');
    for (const a of addresses) splitHostPort(a);
  }

  async start(onChange: AddressesListener): Promise<void> {
    onChange([...this.addresses]);
  }

  close(): void {}
}

/** Options for {@link DnsDiscovery}. */
export interface DnsDiscoveryOptions {
  /** host:port; every address the host resolves to is a node on that port. */
  target: string;
  /** How often the name is resolved again. @default 30000 */
  refreshMs?: number;
  /** Reports resolution failures; the last good list keeps serving. */
  onError?: (err: unknown) => void;
}

/** Every address of a DNS name (dns.lookup with all: true), resolved again periodically. */
export class DnsDiscovery implements NodeDiscovery {
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly host: string;
  private readonly port: number;

  constructor(private readonly options: DnsDiscoveryOptions) {
    const { host, port } = splitHostPort(options.target);
    this.host = host;
    this.port = port;
  }

  async start(onChange: AddressesListener): Promise<void> {
    const resolve = async (): Promise<void> => {
      try {
        const found = await lookup(this.host, { all: true });
        if (this.closed) return;
        onChange(found.map((a) => (a.family === 6 ? `[${a.address}]:${this.port}` : `${a.address}:${this.port}`)).sort());
      } catch (err) {
        this.options.onError?.(err);
      }
      if (!this.closed) this.timer = setTimeout(() => void resolve(), this.options.refreshMs ?? 30_000).unref();
    };
    await resolve();
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
  }
}

/** Options for {@link EtcdDiscovery}. */
export interface EtcdDiscoveryOptions {
  etcd: Etcd3;
  /** @default new KeyLayout() (prefix /switchyard/) */
  keys?: KeyLayout;
  /** Reports unreadable records and watch errors; the last good list keeps serving. */
  onError?: (err: unknown) => void;
}

/**
 * The nodes registered under `{prefix}runtime/nodes/`: a range read plus a
 * watch on the prefix from the read's revision on. A record disappears when
 * its node stops or its lease expires; a node that starts draining marks its
 * record and is left out from then on (it takes nothing new), before its
 * health check would say so. While etcd is unreachable the watch
 * reconnects by itself; when it ends (compaction) the table is read again and
 * the watch recreated.
 */
export class EtcdDiscovery implements NodeDiscovery {
  private readonly records = new Map<string, string>();
  private watcher: Watcher | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly prefix: string;

  constructor(private readonly options: EtcdDiscoveryOptions) {
    this.prefix = (options.keys ?? new KeyLayout()).node('');
  }

  /** Rejects when the first read of the node table fails; later failures go to `onError` and are retried. */
  async start(onChange: AddressesListener): Promise<void> {
    const publish = (): void => onChange([...new Set(this.records.values())].sort());
    const apply = (key: string, value: string | undefined): void => {
      if (value === undefined) {
        this.records.delete(key);
        return;
      }
      try {
        const record = JSON.parse(value) as NodeRecord;
        if (typeof record.address !== 'string' || record.address === '') throw new Error(`node record ${key} has no address`);
        if (record.draining === true) this.records.delete(key);
        else this.records.set(key, record.address);
      } catch (err) {
        this.options.onError?.(err);
      }
    };
    const readAndWatch = async (): Promise<void> => {
      const response = await this.options.etcd.getAll().prefix(this.prefix).exec();
      if (this.closed) return;
      this.records.clear();
      for (const kv of response.kvs) apply(kv.key.toString(), kv.value.toString());
      publish();
      // watcher(), not create(): create()'s promise never settles while etcd
      // is unreachable, and a watcher we do not hold cannot be cancelled, so
      // a client closed in an outage kept etcd3 reconnecting it and its
      // process alive. This one is ours at once and close() cancels it.
      const watcher = this.options.etcd.watch().prefix(this.prefix).startRevision(String(Number(response.header.revision) + 1)).watcher();
      this.watcher = watcher;
      watcher.on('put', (kv) => {
        apply(kv.key.toString(), kv.value.toString());
        publish();
      });
      watcher.on('delete', (kv) => {
        apply(kv.key.toString(), undefined);
        publish();
      });
      watcher.on('error', (err) => {
        // The watch is gone (typically cancelled after a compaction): read everything again.
        if (this.watcher !== watcher) return;
        this.options.onError?.(err);
        this.dropWatcher();
        retry();
      });
    };
    const retry = (): void => {
      if (this.closed) return;
      this.retryTimer = setTimeout(() => {
        readAndWatch().catch((err: unknown) => {
          this.options.onError?.(err);
          retry();
        });
      }, 1000).unref();
    };
    await readAndWatch();
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.retryTimer);
    this.dropWatcher();
  }

  private dropWatcher(): void {
    const watcher = this.watcher;
    this.watcher = undefined;
    if (!watcher) return;
    watcher.removeAllListeners();
    // Late errors from the dropped stream are not news; cancel() on an
    // already cancelled etcd3 watcher never settles, so it is not awaited.
    watcher.on('error', () => undefined);
    void watcher.cancel().catch(() => undefined);
  }
}
