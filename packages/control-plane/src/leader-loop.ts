import type { Logger } from '@switchyard/core';
import { closeWatcher, type EtcdWatcher } from './etcd-client.js';
import type { Leadership } from './leader-election.js';

/**
 * Something a leader keeps and a follower does not (watches, a watch-fed
 * view): opened by every turn of the loop that finds this replica leading
 * (so `open` must do nothing when already open, and make again what ended),
 * closed by the first turn that does not, and by stop().
 */
export interface LeaderHeld {
  open(): void;
  close(): void;
}

/** Options for {@link LeaderLoop}. */
export interface LeaderLoopOptions {
  leadership: Leadership;
  /** One pass of the leader's work; run only while leading, one at a time. */
  pass: () => Promise<void>;
  /** Time from the end of one turn to the next when nothing wakes the loop. */
  intervalMs: number;
  /**
   * How a turn waits for the next one. @default an unref'd timer: a long
   * interval must neither keep the process alive nor outlive stop()
   */
  sleep?: (ms: number) => Promise<void>;
  /** Kept while leading (watches that wake the loop, views). */
  held?: readonly LeaderHeld[];
  logger: Logger;
  /** Logged as a warning when a pass fails, e.g. 'placement pass failed; trying again'. */
  failureMessage: string;
  /** Called on every change of leadership, before the loop is woken. */
  onLeadershipChange?: (leader: boolean) => void;
  /** Each turn that finds this replica not leading, after what it held was closed. */
  whileFollowing?: () => void;
}

/**
 * The loop every leader-only component runs (the rollout controller, the
 * placer): while leading, open what it holds and run a pass, logging a
 * failure; while following, close it; then sleep `intervalMs`, unless a
 * change of leadership or {@link wake} (a watch event) ends the sleep early.
 * A pass asked for while one runs shares it, so passes never interleave.
 */
export class LeaderLoop {
  readonly #o: LeaderLoopOptions;
  #running = false;
  #stopped = false;
  #loop: Promise<void> | undefined;
  #wake: (() => void) | undefined;
  /** A wake that came while no sleep was under way (a pass was running): the next sleep is skipped. */
  #woken = false;
  #debounce: NodeJS.Timeout | undefined;
  #unsubscribe: (() => void) | undefined;
  #pass: Promise<void> | undefined;

  constructor(options: LeaderLoopOptions) {
    this.#o = options;
  }

  /** Between start() and stop(). */
  get running(): boolean {
    return this.#running;
  }

  /** Set by stop(): a pass still running should write nothing more. */
  get stopped(): boolean {
    return this.#stopped;
  }

  start(): void {
    if (this.#running || this.#stopped) return;
    this.#running = true;
    this.#unsubscribe = this.#o.leadership.onChange((leader) => {
      this.#o.onLeadershipChange?.(leader);
      this.wake();
    });
    this.#loop = this.#run();
  }

  /** Stops the loop; waits for a pass in progress at most `timeoutMs` (etcd may be down), then closes what it holds. */
  async stop(timeoutMs = 2000): Promise<void> {
    if (!this.#running) return;
    this.#running = false;
    this.#stopped = true;
    this.#unsubscribe?.();
    clearTimeout(this.#debounce);
    this.wake();
    await Promise.race([this.#loop, new Promise((resolve) => setTimeout(resolve, timeoutMs).unref())]);
    this.#close();
  }

  /** One pass now; concurrent calls (and the loop's own) share it. */
  runOnce(): Promise<void> {
    return (this.#pass ??= this.#o.pass().finally(() => (this.#pass = undefined)));
  }

  /**
   * Ends the current sleep: the next turn starts now, or as soon as the pass
   * in progress ends (which may have read the state before the change that
   * woke it).
   */
  wake(): void {
    if (this.#wake) this.#wake();
    else this.#woken = true;
  }

  /** Wakes the loop once calls stop coming for `debounceMs`: a node restart or a deploy of many routes is one pass. */
  wakeSoon(debounceMs: number): void {
    if (debounceMs <= 0) return this.wake();
    clearTimeout(this.#debounce);
    this.#debounce = setTimeout(() => this.wake(), debounceMs);
    this.#debounce.unref();
  }

  async #run(): Promise<void> {
    while (this.#running) {
      this.#woken = false;
      if (this.#o.leadership.isLeader) {
        for (const held of this.#o.held ?? []) held.open();
        try {
          await this.runOnce();
        } catch (err) {
          this.#o.logger.warn(this.#o.failureMessage, { error: (err as Error).message });
        }
      } else {
        this.#close();
        this.#o.whileFollowing?.();
      }
      if (!this.#running) break;
      if (this.#woken) continue;
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
        if (this.#o.sleep) {
          void this.#o.sleep(this.#o.intervalMs).then(resolve);
          return;
        }
        const timer = setTimeout(resolve, this.#o.intervalMs);
        timer.unref();
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#wake = undefined;
    }
  }

  #close(): void {
    for (const held of this.#o.held ?? []) held.close();
  }
}

/**
 * Watches held while leading whose events call `onEvent` (usually a wake of
 * the loop). The watcher is ours at once (EtcdAccess.watchPrefix builds it
 * with etcd3's `watcher()`, not `create()`, whose promise never settles while
 * etcd is down), and cancel() removes an unconnected watcher on the spot. A
 * watch that ends with an error is dropped, and the loop's next leading turn
 * makes them all again; meanwhile the periodic pass carries on.
 */
export class WakingWatches implements LeaderHeld {
  #watchers: EtcdWatcher[] = [];

  constructor(
    private readonly make: () => EtcdWatcher[],
    private readonly onEvent: () => void,
    private readonly logger: Logger,
  ) {}

  open(): void {
    if (this.#watchers.length > 0) return;
    const watchers = this.make();
    this.#watchers = watchers;
    for (const watcher of watchers) {
      watcher.on('put', () => this.onEvent());
      watcher.on('delete', () => this.onEvent());
      watcher.on('error', (err: Error) => {
        // A cancelled watcher is gone (and cancel() on it never resolves).
        if (this.#watchers.includes(watcher)) this.close();
        this.logger.debug('watch ended; the periodic pass carries on', { error: err.message });
      });
    }
  }

  close(): void {
    const watchers = this.#watchers;
    this.#watchers = [];
    for (const watcher of watchers) closeWatcher(watcher);
  }
}
