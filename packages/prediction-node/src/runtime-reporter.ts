import type { Etcd3, Lease } from 'etcd3';
import type { Logger } from '@switchyard/core';

/** Options for {@link RuntimeReporter}. */
export interface RuntimeReporterOptions {
  etcd: Etcd3;
  logger: Logger;
  /** Lease time-to-live: how long a dead node's keys outlive it. @default 10 */
  ttlSeconds?: number;
  /** First retry delay after a failed write. @default 200 */
  retryMinMs?: number;
  /** @default 5000 */
  retryMaxMs?: number;
}

/**
 * Keeps a set of keys present in etcd, all bound to one lease, so they vanish
 * when this process dies. Callers say what should be there (`set`, `remove`);
 * a single flush loop writes it, retries through etcd outages, and rewrites
 * everything under a new lease when the old one is lost. Nothing a caller does
 * ever waits on etcd.
 */
export class RuntimeReporter {
  private readonly options: Required<RuntimeReporterOptions>;
  private readonly desired = new Map<string, string>();
  private readonly dirty = new Set<string>();
  private lease: Lease | undefined;
  private flushing: Promise<void> | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private retryDelay: number;
  private closed = false;

  constructor(options: RuntimeReporterOptions) {
    this.options = { ttlSeconds: 10, retryMinMs: 200, retryMaxMs: 5000, ...options };
    this.retryDelay = this.options.retryMinMs;
  }

  /** Makes `key` hold `value` (JSON text) for as long as this process lives. */
  set(key: string, value: string): void {
    if (this.desired.get(key) === value) return;
    this.desired.set(key, value);
    this.markDirty(key);
  }

  remove(key: string): void {
    if (!this.desired.has(key)) return;
    this.desired.delete(key);
    this.markDirty(key);
  }

  /** Revokes the lease so every key disappears at once; bounded, since etcd may be down. */
  async close(timeoutMs = 2000): Promise<void> {
    this.closed = true;
    clearTimeout(this.retryTimer);
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((r) => (timer = setTimeout(r, timeoutMs)));
    try {
      // A grant in flight would otherwise leave a lease, and its keep-alive timer, that nobody revokes.
      await Promise.race([this.flushing, deadline]);
      const lease = this.lease;
      this.lease = undefined;
      if (lease) await Promise.race([lease.revoke().catch(() => undefined), deadline]);
    } finally {
      clearTimeout(timer);
    }
  }

  private markDirty(key: string): void {
    this.dirty.add(key);
    this.scheduleFlush();
  }

  private scheduleFlush(): void {
    if (this.closed || this.flushing || this.retryTimer) return;
    this.flushing = this.flush().finally(() => {
      this.flushing = undefined;
      if (this.dirty.size > 0 && !this.retryTimer) this.scheduleFlush();
    });
  }

  private async flush(): Promise<void> {
    try {
      const lease = await this.ensureLease();
      while (this.dirty.size > 0 && !this.closed) {
        const batch = [...this.dirty];
        this.dirty.clear();
        try {
          await Promise.all(
            batch.map((key) => {
              const value = this.desired.get(key);
              return value === undefined ? this.options.etcd.delete().key(key).exec() : lease.put(key).value(value).exec();
            }),
          );
        } catch (err) {
          for (const key of batch) this.dirty.add(key);
          throw err;
        }
      }
      this.retryDelay = this.options.retryMinMs;
    } catch (err) {
      if (this.closed) return;
      this.options.logger.warn('writing node state to etcd failed; will retry', {
        error: (err as Error).message,
        retryInMs: this.retryDelay,
      });
      this.retryTimer = setTimeout(() => {
        this.retryTimer = undefined;
        this.scheduleFlush();
      }, this.retryDelay);
      this.retryDelay = Math.min(this.retryDelay * 2, this.options.retryMaxMs);
    }
  }

  private async ensureLease(): Promise<Lease> {
    if (this.lease) return this.lease;
    const lease = this.options.etcd.lease(this.options.ttlSeconds, { autoKeepAlive: true });
    // Granting happens lazily; grab() surfaces an unreachable etcd here.
    try {
      await lease.grant();
    } catch (err) {
      await lease.revoke().catch(() => undefined);
      throw err;
    }
    if (this.closed) {
      // Closed while granting and close() gave up waiting: nobody else holds this lease.
      await lease.revoke().catch(() => undefined);
      throw new Error('the reporter was closed');
    }
    lease.on('lost', (err: Error) => {
      if (this.lease !== lease) return;
      this.options.logger.warn('node lease lost; registering again', { error: err.message });
      this.lease = undefined;
      lease.removeAllListeners();
      for (const key of this.desired.keys()) this.dirty.add(key);
      this.scheduleFlush();
    });
    this.lease = lease;
    // A new lease owns none of our keys yet: write them all.
    for (const key of this.desired.keys()) this.dirty.add(key);
    return lease;
  }
}
