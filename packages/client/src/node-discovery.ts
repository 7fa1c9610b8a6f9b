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
 * watch on the prefix. A record disappears when its node stops or its lease
 * expires. On a watch error the table is read again and the watch recreated.
 */
export class EtcdDiscovery implements NodeDiscovery {
  private readonly records = new Map<string, string>();
  private watcher: Watcher | undefined;
  private closed = false;
  private readonly prefix: string;

  constructor(private readonly options: EtcdDiscoveryOptions) {
    this.prefix = (options.keys ?? new KeyLayout()).node('');
  }

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
        this.records.set(key, record.address);
      } catch (err) {
        this.options.onError?.(err);
      }
    };
    const watch = async (): Promise<void> => {
      const watcher = await this.options.etcd.watch().prefix(this.prefix).create();
      if (this.closed) return void watcher.cancel().catch(() => undefined);
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
        this.options.onError?.(err);
        void watcher.cancel().catch(() => undefined);
        if (!this.closed) setTimeout(() => void watch().catch((e: unknown) => this.options.onError?.(e)), 1000).unref();
      });
      // Read after the watch exists, so no change falls between the two.
      const all = await this.options.etcd.getAll().prefix(this.prefix).strings();
      this.records.clear();
      for (const [key, value] of Object.entries(all)) apply(key, value);
      publish();
    };
    await watch();
  }

  close(): void {
    this.closed = true;
    void this.watcher?.cancel().catch(() => undefined);
  }
}
