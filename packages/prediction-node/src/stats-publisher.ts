import type { Etcd3 } from 'etcd3';
import type { Logger } from '@switchyard/core';
import type { NodeComponent } from './node-component.js';

/** One key a source wants in etcd; `value` null deletes it. */
export interface PublishedEntry {
  key: string;
  value: string | null;
}

/**
 * Something with figures to publish. Called once per tick; returns the keys
 * whose values it wants written now (it decides its own coalescing, e.g.
 * usage at most once a minute per version). `final` is set on the last tick,
 * at stop: what it holds back now is never written. Cheap: it runs on the
 * event loop.
 */
export type StatsSource = (nowMs: number, final?: boolean) => Iterable<PublishedEntry>;

/** Options for {@link StatsPublisher}. */
export interface StatsPublisherOptions {
  etcd: Etcd3;
  logger: Logger;
  /** Time between ticks. @default 5000 */
  intervalMs?: number;
  /** Puts per etcd transaction; etcd refuses more than 128 by default. @default 100 */
  batchSize?: number;
  now?: () => number;
}

/**
 * Writes node figures that must outlive the node (rollout step counters,
 * shadow comparisons, last use) to etcd, not bound to any lease. Every tick
 * it asks each source what changed and writes it in transactions of at most
 * `batchSize` puts, so N changed keys cost ⌈N / batchSize⌉ raft proposals.
 * A value equal to the last one written is skipped. A failed write is kept
 * and retried on the next tick (the newest value wins), so an etcd outage
 * costs nothing but staleness and never blocks a request.
 */
export class StatsPublisher implements NodeComponent {
  readonly name = 'stats-publisher';
  private readonly sources: StatsSource[] = [];
  private readonly written = new Map<string, string | null>();
  private readonly pending = new Map<string, string | null>();
  private readonly intervalMs: number;
  private readonly batchSize: number;
  private readonly now: () => number;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  /** Total keys written, for tests and the write-rate figures in docs/etcd-layout.md. */
  writes = 0;
  transactions = 0;

  constructor(private readonly options: StatsPublisherOptions) {
    this.intervalMs = options.intervalMs ?? 5000;
    this.batchSize = options.batchSize ?? 100;
    this.now = options.now ?? Date.now;
  }

  add(source: StatsSource): void {
    this.sources.push(source);
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.tick(), this.intervalMs);
    this.timer.unref();
  }

  /** Collects from every source and writes what changed; resolves when written (or failed, to be retried). */
  tick(): Promise<void> {
    return this.tickOnce(false);
  }

  /** Stops ticking after one last, final collection and write, bounded by `timeoutMs` (etcd may be down). */
  async close(timeoutMs = 2000): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    if (this.running) await this.running;
    await Promise.race([this.tickOnce(true), new Promise((r) => setTimeout(r, timeoutMs).unref())]);
  }

  /** The node's drain: {@link close}. */
  stop(): Promise<void> {
    return this.close();
  }

  private tickOnce(final: boolean): Promise<void> {
    this.running ??= this.collectAndWrite(final).finally(() => (this.running = undefined));
    return this.running;
  }

  private async collectAndWrite(final: boolean): Promise<void> {
    const now = this.now();
    for (const source of this.sources) {
      try {
        for (const entry of source(now, final)) {
          if (this.written.has(entry.key) && this.written.get(entry.key) === entry.value) this.pending.delete(entry.key);
          else this.pending.set(entry.key, entry.value);
        }
      } catch (err) {
        this.options.logger.error('a stats source failed; its figures are not published this tick', { error: String(err) });
      }
    }
    const batch = [...this.pending];
    for (let i = 0; i < batch.length; i += this.batchSize) {
      const chunk = batch.slice(i, i + this.batchSize);
      const ops = chunk.map(([key, value]) =>
        value === null ? this.options.etcd.delete().key(key) : this.options.etcd.put(key).value(value),
      );
      try {
        // One transaction, one raft proposal. Its comparison always holds
        // (every key's mod revision is above -1); etcd3 needs one to build a txn.
        await this.options.etcd.if(chunk[0]![0], 'Mod', '>', -1).then(...ops).commit();
        this.transactions++;
        for (const [key, value] of chunk) {
          this.writes++;
          if (this.pending.get(key) === value) this.pending.delete(key);
          if (value === null) this.written.delete(key);
          else this.written.set(key, value);
        }
      } catch (err) {
        this.options.logger.warn('publishing node figures to etcd failed; retrying next tick', {
          error: (err as Error).message,
          keys: this.pending.size,
        });
        return;
      }
    }
  }
}
