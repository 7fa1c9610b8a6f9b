/**
 * Watches the nodes' status keys in etcd and stamps the moment each
 * (node, model, version) is first seen READY, as the watch event arrives in
 * this process, so deploy-to-READY is timed without polling granularity.
 */
import { performance } from 'node:perf_hooks';
import type { Etcd3, IKeyValue, Watcher } from 'etcd3';
import type { KeyLayout } from '@switchyard/core';

export class StatusWatch {
  private readonly readyAt = new Map<string, number>();
  private readonly listeners = new Set<() => void>();

  private constructor(
    private readonly watcher: Watcher,
    private readonly keys: KeyLayout,
  ) {
    watcher.on('put', (kv: IKeyValue) => this.onPut(kv));
  }

  static async start(etcd: Etcd3, keys: KeyLayout): Promise<StatusWatch> {
    const watcher = await etcd.watch().prefix(keys.statusPrefix()).create();
    return new StatusWatch(watcher, keys);
  }

  /** performance.now() at which the node was first seen reporting the version READY. */
  readyTime(nodeId: string, model: string, version: string): number | undefined {
    return this.readyAt.get(this.keys.status(nodeId, model, version));
  }

  /** Resolves with each node's READY time once all of them reported READY. */
  waitReady(model: string, version: string, nodeIds: string[], timeoutMs: number): Promise<number[]> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const times = nodeIds.map((id) => this.readyTime(id, model, version));
        if (times.some((t) => t === undefined)) return false;
        clearTimeout(timer);
        this.listeners.delete(listener);
        resolve(times as number[]);
        return true;
      };
      const listener = (): void => void check();
      const timer = setTimeout(() => {
        this.listeners.delete(listener);
        reject(new Error(`${model}:${version} not READY on every node (${nodeIds.join(', ')}) within ${timeoutMs} ms`));
      }, timeoutMs);
      if (!check()) this.listeners.add(listener);
    });
  }

  stop(): void {
    this.listeners.clear();
    void this.watcher.cancel().catch(() => undefined);
  }

  private onPut(kv: IKeyValue): void {
    const now = performance.now();
    const key = kv.key.toString();
    if (this.readyAt.has(key)) return;
    try {
      const record = JSON.parse(kv.value.toString()) as { state?: string };
      if (record.state !== 'READY') return;
    } catch {
      return;
    }
    this.readyAt.set(key, now);
    for (const listener of [...this.listeners]) listener();
  }
}
