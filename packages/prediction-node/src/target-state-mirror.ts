import type { Etcd3, IKeyValue, Watcher } from 'etcd3';
import type { KeyLayout, Logger } from '@switchyard/core';
import type { NodeComponent } from './node-component.js';
import { TargetStateBuilder, type TargetState, type TargetStateView } from './target-state.js';
import { readAllVersions, readServingState } from './target-state-read.js';

/** Options for {@link TargetStateMirror}. */
export interface TargetStateMirrorOptions {
  etcd: Etcd3;
  keys: KeyLayout;
  logger: Logger;
  /** Called with every new state, once {@link TargetStateMirror.current} returns it; must not throw. */
  onChange: (state: TargetState) => void;
  /** First retry delay after a failed read. @default 200 */
  retryMinMs?: number;
  /** @default 5000 */
  retryMaxMs?: number;
}

/**
 * Keeps an in-memory copy of the target subtree: one range read at a
 * revision, then a watch from the next revision. When the watch is cancelled
 * (its revision was compacted) the subtree is read again from scratch, so
 * changes made meanwhile, deletions included, are never lost. While etcd is
 * unreachable the last state stays in place; nothing here clears it.
 */
export class TargetStateMirror implements TargetStateView, NodeComponent {
  readonly name = 'target-state-watch';
  private readonly options: Required<TargetStateMirrorOptions>;
  private watcher: Watcher | undefined;
  private builder: TargetStateBuilder | undefined;
  private stopped = false;
  private resyncing = false;
  private state: TargetState | undefined;
  /** Keys the watch changed while the versions no route names are still being read; undefined once read. */
  private touched: Set<string> | undefined;

  constructor(options: TargetStateMirrorOptions) {
    this.options = { retryMinMs: 200, retryMaxMs: 5000, ...options };
  }

  /**
   * Starts reading and watching in the background: an unreachable etcd does
   * not fail start-up, the node stays NOT_SERVING until it is read.
   */
  start(): void {
    void this.resync();
  }


  /** The node's one copy of the target state; undefined before the first read. */
  current(): TargetState | undefined {
    return this.state;
  }

  stop(): void {
    this.stopped = true;
    this.dropWatcher();
  }

  private async resync(): Promise<void> {
    if (this.resyncing || this.stopped) return;
    this.resyncing = true;
    this.dropWatcher();
    let delay = this.options.retryMinMs;
    try {
      while (!this.stopped) {
        try {
          await this.readAndWatch();
          return;
        } catch (err) {
          this.options.logger.warn('reading target state from etcd failed; serving the last known state and retrying', {
            error: (err as Error).message,
            retryInMs: delay,
          });
          await new Promise((r) => setTimeout(r, delay));
          delay = Math.min(delay * 2, this.options.retryMaxMs);
        }
      }
    } finally {
      this.resyncing = false;
    }
  }

  private async readAndWatch(): Promise<void> {
    const { etcd, keys, logger } = this.options;
    // What serving needs first; the versions no route names follow in the background (target-state-read.ts).
    const builder = new TargetStateBuilder(keys, logger);
    const read = await readServingState(etcd, keys, builder);
    const revision = Number(read);
    if (this.stopped) return;
    this.builder = builder;
    const touched = new Set<string>();
    this.touched = touched;
    this.publish(builder.snapshot(revision, false));
    logger.info('read target state: routes, models and routed versions', { revision });

    // watcher(), not create(): create()'s promise never settles while etcd is
    // unreachable, and a watcher we do not hold cannot be cancelled, so a node
    // stopped in an outage would keep reconnecting it and never exit. This one
    // is ours at once; etcd3 connects it (and reconnects it) by itself.
    const watcher = etcd.watch().prefix(keys.targetPrefix()).startRevision(String(revision + 1)).watcher();
    this.watcher = watcher;
    watcher.on('data', (res) => {
      if (this.watcher !== watcher || !this.builder) return;
      for (const event of res.events) {
        const key = event.kv.key.toString();
        this.touched?.add(key);
        this.builder.apply(key, event.type === 'Put' ? (event.kv as IKeyValue).value.toString() : undefined);
      }
      if (res.events.length > 0) this.publish(this.builder.snapshot(Number(res.header.revision), this.touched === undefined));
    });
    watcher.on('disconnected', (err: Error) =>
      logger.warn('target state watch disconnected; serving the last known state', { error: err.message }),
    );
    watcher.on('connected', () => logger.debug('target state watch connected'));
    watcher.on('error', (err: Error) => {
      // Typically "Watcher canceled" after compaction. Awaiting cancel() on a
      // cancelled etcd3 watcher never resolves, so it is dropped, not awaited.
      if (this.watcher !== watcher) return;
      logger.warn('target state watch ended; reading the whole state again', { error: err.message });
      void this.resync();
    });
    void this.readTheRest(builder, read, touched);
  }

  /**
   * Reads every version at the first read's revision and adds those the
   * watch has not changed since, then publishes a complete state. On failure
   * (e.g. that revision was compacted meanwhile) everything is read again.
   */
  private async readTheRest(builder: TargetStateBuilder, revision: string, touched: Set<string>): Promise<void> {
    let kvs: IKeyValue[];
    try {
      kvs = await readAllVersions(this.options.etcd, this.options.keys, revision);
    } catch (err) {
      if (this.builder !== builder || this.stopped) return;
      this.options.logger.warn('reading the versions no route names failed; reading the whole state again', { error: (err as Error).message });
      this.builder = undefined;
      void this.resync();
      return;
    }
    if (this.builder !== builder || this.stopped) return;
    for (const kv of kvs) {
      const key = kv.key.toString();
      if (!touched.has(key)) builder.apply(key, kv.value.toString());
    }
    this.touched = undefined;
    this.publish(builder.snapshot(this.state?.revision ?? Number(revision), true));
    this.options.logger.info('read target state: every version', { revision, versions: kvs.length });
  }

  private publish(state: TargetState): void {
    this.state = state;
    this.options.onChange(state);
  }

  private dropWatcher(): void {
    const watcher = this.watcher;
    this.watcher = undefined;
    if (watcher) {
      watcher.removeAllListeners();
      // Swallow late errors from the dropped stream.
      watcher.on('error', () => undefined);
      void watcher.cancel().catch(() => undefined);
    }
  }
}
