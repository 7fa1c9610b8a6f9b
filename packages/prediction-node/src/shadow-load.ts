import { performance, type EventLoopUtilization } from 'node:perf_hooks';

/** Whether the node is too busy for optional work; read on every sampled request, so cheap. */
export interface BusySignal {
  busy(): boolean;
}

/** Options for {@link EventLoopBusySignal}. */
export interface EventLoopBusySignalOptions {
  /**
   * Event-loop utilization (0–1) over the last window above which the node
   * counts as busy. @default 0.6
   */
  threshold?: number;
  /** Length of the window utilization is measured over. @default 100 */
  windowMs?: number;
}

/**
 * Event-loop utilization of this thread over the last window, sampled by one
 * unref'd timer per process (utilization is per thread, so every node in the
 * process shares it).
 */
class LoopUtilization {
  private last: EventLoopUtilization = performance.eventLoopUtilization();
  /** Utilization over the last complete window. */
  value = 0;

  constructor(windowMs: number) {
    setInterval(() => {
      const now = performance.eventLoopUtilization();
      this.value = performance.eventLoopUtilization(now, this.last).utilization;
      this.last = now;
    }, windowMs).unref();
  }
}

let shared: LoopUtilization | undefined;

/**
 * "Busy" when the main thread was busy for more than `threshold` of the
 * last window (100 ms). Utilization rather than a count of requests in
 * flight: it rises with whatever the node spends its thread on (gRPC,
 * decoding, the synchronous part of session.run, and shadow runs
 * themselves), so shadow work shed here is exactly the work that would have
 * competed with primaries, and shadows alone cannot hold the loop above the
 * threshold for more than a window. `busy()` is a field read.
 */
export class EventLoopBusySignal implements BusySignal {
  readonly threshold: number;
  private readonly loop: LoopUtilization;

  constructor(options: EventLoopBusySignalOptions = {}) {
    this.threshold = options.threshold ?? 0.6;
    if (!(this.threshold > 0 && this.threshold <= 1)) throw new TypeError(`shadow busy threshold must be in (0, 1], got ${this.threshold}`);
    this.loop = options.windowMs === undefined ? (shared ??= new LoopUtilization(100)) : new LoopUtilization(options.windowMs);
  }

  /** Utilization over the last complete window. */
  get utilization(): number {
    return this.loop.value;
  }

  busy(): boolean {
    return this.loop.value > this.threshold;
  }
}
