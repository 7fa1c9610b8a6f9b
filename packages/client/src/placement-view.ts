import type { Etcd3, IKeyValue, Watcher } from 'etcd3';
import { readPrefixPaged } from '@switchyard/core/etcd';
import {
  KeyLayout,
  NodeRecordSchema,
  parseStored,
  PlacementRecordSchema,
  resolveSlots,
  RouteRecordSchema,
  routingKeySlot,
  setReadyHolder,
  VersionStatusRecordSchema,
  TOTAL_WEIGHT,
  type SlotRange,
} from '@switchyard/core';

/** Options for {@link PlacementView}. */
export interface PlacementViewOptions {
  etcd: Etcd3;
  keys?: KeyLayout;
  /** Unreadable records and ended watches; the last good view keeps serving. */
  onError?: (err: unknown) => void;
  /** Delay before reading a prefix again after a failure. @default 1000 */
  retryMs?: number;
}

/** Where one request should go: the version its route chose and the addresses of the nodes holding it. */
export interface PlacementTarget {
  /** The version the route's slot chose, for an unversioned request; undefined when the request named one. */
  routedVersion: string | undefined;
  /**
   * Addresses of the nodes holding that version READY (placed copies and
   * copies loaded on request alike), then of the nodes placement names that
   * do not hold it READY yet; empty when none (any node will do).
   */
  addresses: readonly string[];
}

interface Route {
  readonly slots: readonly SlotRange[];
}

/**
 * The client's copy of where versions are held (issue #16): the routes
 * (their slots, to choose a version as a node would), the placements
 * (`target/placements/`), which nodes hold which version READY
 * (`runtime/status/`: copies loaded on request too) and the node addresses
 * (`runtime/nodes/`; draining nodes left out), each a paged range read plus
 * a watch, read again when a watch ends. The client sends a request
 * straight to a node holding its version, so a well-behaved client pays no
 * forwarding hop; any node still answers for anything.
 */
export class PlacementView {
  private readonly keys: KeyLayout;
  private readonly routes = new Map<string, Route>();
  /** `model/version` → node ids. */
  private readonly placements = new Map<string, readonly string[]>();
  /** `model/version` → node ids holding it READY. */
  private readonly ready = new Map<string, readonly string[]>();
  private readonly addresses = new Map<string, string>();
  private readonly watchers = new Map<string, Watcher>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private closed = false;

  constructor(private readonly options: PlacementViewOptions) {
    this.keys = options.keys ?? new KeyLayout();
  }

  /** Reads the four prefixes; rejects when a first read fails (later failures are retried). */
  async start(): Promise<void> {
    await Promise.all(
      [this.keys.routesPrefix(), this.keys.placementsPrefix(), this.keys.statusPrefix(), this.keys.nodesPrefix()].map((prefix) => this.readAndWatch(prefix)),
    );
  }

  close(): void {
    this.closed = true;
    for (const timer of this.timers) clearTimeout(timer);
    for (const watcher of this.watchers.values()) this.drop(watcher);
    this.watchers.clear();
  }

  /**
   * Where a request for `model` (and `version`, '' for the route's choice)
   * should go. `random` in [0, 1) draws the slot of a request without a
   * routing key.
   */
  target(model: string, version: string, routingKey: string | undefined, random = Math.random()): PlacementTarget {
    let routedVersion: string | undefined;
    let chosen = version;
    if (!chosen) {
      const route = this.routes.get(model);
      if (!route || route.slots.length === 0) return { routedVersion: undefined, addresses: [] };
      const slot = routingKey === undefined ? Math.floor(random * TOTAL_WEIGHT) : routingKeySlot(routingKey);
      chosen = route.slots.find((r) => slot >= r.start && slot < r.end)?.version ?? '';
      if (!chosen) return { routedVersion: undefined, addresses: [] };
      routedVersion = chosen;
    }
    const key = `${model}/${chosen}`;
    const ready = this.ready.get(key) ?? [];
    const placed = this.placements.get(key) ?? [];
    const nodes = placed.length === 0 ? ready : ready.length === 0 ? placed : [...new Set([...ready, ...placed])];
    const addresses = nodes.map((id) => this.addresses.get(id)).filter((a): a is string => a !== undefined);
    return { routedVersion, addresses };
  }

  private async readAndWatch(prefix: string): Promise<void> {
    // Paged: status keys grow with nodes × versions.
    const response = await readPrefixPaged(this.options.etcd, prefix);
    if (this.closed) return;
    this.clear(prefix);
    for (const kv of response.kvs) this.apply(kv.key.toString(), kv.value.toString());
    const watcher = this.options.etcd.watch().prefix(prefix).startRevision(String(Number(response.revision) + 1)).watcher();
    this.watchers.set(prefix, watcher);
    watcher.on('data', (res) => {
      for (const event of res.events) this.apply(event.kv.key.toString(), event.type === 'Put' ? (event.kv as IKeyValue).value.toString() : undefined);
    });
    watcher.on('error', (err) => {
      if (this.watchers.get(prefix) !== watcher) return;
      this.options.onError?.(err);
      this.watchers.delete(prefix);
      this.drop(watcher);
      this.retry(prefix);
    });
  }

  private retry(prefix: string): void {
    if (this.closed) return;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.readAndWatch(prefix).catch((err: unknown) => {
        this.options.onError?.(err);
        this.retry(prefix);
      });
    }, this.options.retryMs ?? 1000);
    timer.unref();
    this.timers.add(timer);
  }

  private clear(prefix: string): void {
    if (prefix === this.keys.routesPrefix()) this.routes.clear();
    else if (prefix === this.keys.placementsPrefix()) this.placements.clear();
    else if (prefix === this.keys.statusPrefix()) this.ready.clear();
    else this.addresses.clear();
  }

  private apply(key: string, value: string | undefined): void {
    const parsed = this.keys.parse(key);
    if (!parsed) return;
    if (parsed.kind === 'routes') {
      if (value === undefined) return void this.routes.delete(parsed.model);
      const record = parseStored(RouteRecordSchema, value);
      if (record.ok) this.routes.set(parsed.model, { slots: resolveSlots(record.value).slots });
      else this.options.onError?.(new Error(`route record ${key}: ${record.error}`));
    } else if (parsed.kind === 'placements') {
      const id = `${parsed.model}/${parsed.version}`;
      if (value === undefined) return void this.placements.delete(id);
      const record = parseStored(PlacementRecordSchema, value);
      if (record.ok) this.placements.set(id, record.value.copies.map((c) => c.nodeId));
      else this.options.onError?.(new Error(`placement record ${key}: ${record.error}`));
    } else if (parsed.kind === 'status') {
      const id = `${parsed.model}/${parsed.version}`;
      const record = value === undefined ? undefined : parseStored(VersionStatusRecordSchema, value);
      setReadyHolder(this.ready, id, parsed.nodeId, record?.ok === true && record.value.state === 'READY');
    } else if (parsed.kind === 'nodes') {
      if (value === undefined) return void this.addresses.delete(parsed.nodeId);
      const record = parseStored(NodeRecordSchema, value);
      // A draining node takes no new requests: its copies are being placed elsewhere.
      if (record.ok && !record.value.draining) this.addresses.set(parsed.nodeId, record.value.address);
      else this.addresses.delete(parsed.nodeId);
    }
  }

  private drop(watcher: Watcher): void {
    watcher.removeAllListeners();
    watcher.on('error', () => undefined);
    void watcher.cancel().catch(() => undefined);
  }
}
