import { readPrefixPaged } from '@switchyard/core/etcd';
import { NodeRecordSchema, parseStored, setReadyHolder, VersionStatusRecordSchema, type KeyLayout, type Logger } from '@switchyard/core';
import type { Etcd3, IKeyValue, Watcher } from 'etcd3';
import type { NodeComponent } from './node-component.js';
import { versionKey } from './target-state.js';

/** Where the other nodes are and what they hold READY: what forwarding needs (issue #16). */
export interface ClusterView {
  /** Node ids holding `model/version` READY, this node included; empty when none does. */
  holders(key: string): readonly string[];
  /** A live node's inference address, undefined when it is not registered or is draining. */
  address(nodeId: string): string | undefined;
}

/** Options for {@link ClusterViewMirror}. */
export interface ClusterViewMirrorOptions {
  etcd: Etcd3;
  keys: KeyLayout;
  logger: Logger;
  /** Delay before reading again after a failed read or an ended watch. @default 1000 */
  retryMs?: number;
}

const NONE: readonly string[] = Object.freeze([]);

/**
 * A node's copy of `runtime/nodes/` (addresses) and `runtime/status/` (who
 * holds which version READY): a paged range read of each, then a watch from
 * the read's revision; a watch that ends (compaction) reads again. Each
 * version's holder list is an immutable array replaced whole when it
 * changes, so a request reads one consistent list. While etcd is
 * unreachable the last view stays: a stale holder costs one failed forward,
 * after which the request loads the version here.
 */
export class ClusterViewMirror implements ClusterView, NodeComponent {
  readonly name = 'cluster-view';
  private readonly addresses = new Map<string, string>();
  /** `model/version` → READY holders. */
  private readonly ready = new Map<string, readonly string[]>();
  /** Nodes whose record says draining: they hold nothing for others any more. */
  private readonly draining = new Set<string>();
  private readonly watchers: Watcher[] = [];
  private retryTimer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(private readonly options: ClusterViewMirrorOptions) {}

  start(): void {
    void this.readAndWatch();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    this.dropWatchers();
  }

  holders(key: string): readonly string[] {
    const holders = this.ready.get(key) ?? NONE;
    return this.draining.size === 0 ? holders : holders.filter((id) => !this.draining.has(id));
  }

  address(nodeId: string): string | undefined {
    return this.addresses.get(nodeId);
  }

  private async readAndWatch(): Promise<void> {
    const { etcd, keys, logger } = this.options;
    try {
      const [nodes, statuses] = await Promise.all([readPrefixPaged(etcd, keys.nodesPrefix()), readPrefixPaged(etcd, keys.statusPrefix())]);
      if (this.stopped) return;
      this.addresses.clear();
      this.ready.clear();
      this.draining.clear();
      for (const kv of nodes.kvs) this.apply(kv.key.toString(), kv.value.toString());
      for (const kv of statuses.kvs) this.apply(kv.key.toString(), kv.value.toString());
      this.watch(keys.nodesPrefix(), Number(nodes.revision));
      this.watch(keys.statusPrefix(), Number(statuses.revision));
    } catch (err) {
      logger.warn('reading the cluster view from etcd failed; forwarding uses the last one, retrying', { error: (err as Error).message });
      this.retry();
    }
  }

  private watch(prefix: string, revision: number): void {
    const watcher = this.options.etcd.watch().prefix(prefix).startRevision(String(revision + 1)).watcher();
    this.watchers.push(watcher);
    watcher.on('data', (res) => {
      for (const event of res.events) this.apply(event.kv.key.toString(), event.type === 'Put' ? (event.kv as IKeyValue).value.toString() : undefined);
    });
    watcher.on('error', (err: Error) => {
      if (!this.watchers.includes(watcher)) return;
      this.options.logger.warn('cluster view watch ended; reading it again', { error: err.message });
      this.dropWatchers();
      this.retry();
    });
  }

  private retry(): void {
    if (this.stopped) return;
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => void this.readAndWatch(), this.options.retryMs ?? 1000);
    this.retryTimer.unref();
  }

  private apply(key: string, value: string | undefined): void {
    const parsed = this.options.keys.parse(key);
    if (parsed?.kind === 'nodes') {
      const record = value === undefined ? undefined : parseStored(NodeRecordSchema, value);
      if (record?.ok && !record.value.draining) this.addresses.set(parsed.nodeId, record.value.address);
      else this.addresses.delete(parsed.nodeId);
      if (record?.ok && record.value.draining) this.draining.add(parsed.nodeId);
      else this.draining.delete(parsed.nodeId);
    } else if (parsed?.kind === 'status') {
      const record = value === undefined ? undefined : parseStored(VersionStatusRecordSchema, value);
      setReadyHolder(this.ready, versionKey(parsed.model, parsed.version), parsed.nodeId, record?.ok === true && record.value.state === 'READY');
    }
  }

  private dropWatchers(): void {
    for (const watcher of this.watchers.splice(0)) {
      watcher.removeAllListeners();
      watcher.on('error', () => undefined);
      void watcher.cancel().catch(() => undefined);
    }
  }
}
