import { performance } from 'node:perf_hooks';
import type { Logger, ShadowEntry } from '@switchyard/core';
import type { ServedRequest } from './inference-service.js';
import type { LoadedVersion } from './loaded-version.js';
import { compareOutputs } from './shadow-compare.js';
import type { BusySignal } from './shadow-load.js';
import { isQueueRefusal } from './version-queue.js';
import type { NodeComponent } from './node-component.js';
import type { ShadowPairStats, ShadowStatsTable } from './shadow-stats.js';

/** Node options of shadow mirroring. */
export interface ShadowOptions {
  /** Sampled shadow calls waiting or running at once (in the shadow versions' queues); beyond this they are dropped and counted. @default 64 */
  queueSize?: number;
  /**
   * Kept for compatibility: since issue #17 shadow calls wait in their
   * version's queue at the lowest priority, and that version's instances
   * bound how many run at once. @default 1
   */
  concurrency?: number;
  /** A shadow call slower than this counts as a time-out and is not compared. @default 1000 */
  timeoutMs?: number;
  /**
   * Kept for compatibility: shadow calls are no longer shed on event-loop
   * load; they wait behind primaries in their version's queue instead. @default 0.6
   */
  busyThreshold?: number;
  /**
   * A sampled call still waiting in its version's queue after this long
   * (primaries kept it busy) is dropped and counted rather than run late. @default 250
   */
  maxWaitMs?: number;
}

/** What {@link ShadowMirror} needs from the node. */
export interface ShadowMirrorDeps {
  stats: ShadowStatsTable;
  /** The route's shadows of a model, as the node last read them. */
  shadowsOf: (model: string) => readonly ShadowEntry[] | undefined;
  /** A loaded version, for requests that name one. */
  versionOf: (model: string, version: string) => LoadedVersion | undefined;
  /** Unused since issue #17 (shadow calls queue behind primaries instead of being shed); kept for callers. */
  busy?: BusySignal;
  /** Unused since issue #17: the version queue puts shadow calls after primaries. */
  primariesInFlight?: () => number;
  logger: Logger;
  /** @default Date.now */
  now?: () => number;
  /** @default Math.random */
  random?: () => number;
  /** Told of every shadow run that ended (tracing records it as a span linked to the primary's). */
  onShadowRun?: (run: ShadowRun) => void;
}

/** One shadow run, as {@link ShadowMirrorDeps.onShadowRun} sees it. */
export interface ShadowRun {
  served: ServedRequest;
  shadow: LoadedVersion;
  /** Wall-clock ms at the start, and the run's length. */
  startedAtMs: number;
  seconds: number;
  error: string | undefined;
}

interface Job {
  readonly served: ServedRequest;
  readonly shadow: LoadedVersion;
  readonly stats: ShadowPairStats;
  readonly tolerance: number;
  readonly queuedAt: number;
}

/**
 * Replays a sampled share of answered requests against the route's shadow
 * versions and counts how their outputs compare. Runs strictly after the
 * primary: sampled calls are handed, from setImmediate, to the shadow
 * version's own queue (version-queue.ts) at the lowest priority, where they
 * run when a batch has room or the version is idle, after every primary
 * waiting there. At most `queueSize` are outstanding; a call that would wait
 * in the queue longer than `maxWaitMs`, or that a primary needs the place
 * of, is dropped (counted). Nothing here can reach the primary's response,
 * which was sent already.
 */
export class ShadowMirror implements NodeComponent {
  readonly name = 'shadow-mirror';
  private readonly queue: Job[] = [];
  private readonly queueSize: number;
  private readonly concurrency: number;
  private readonly timeoutMs: number;
  private readonly maxWaitMs: number;
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly untilMs = new WeakMap<ShadowEntry, number>();
  private running = 0;
  private scheduled = false;
  private stopped = false;

  constructor(
    private readonly deps: ShadowMirrorDeps,
    options: ShadowOptions = {},
  ) {
    this.queueSize = options.queueSize ?? 64;
    this.concurrency = options.concurrency ?? 1;
    this.timeoutMs = options.timeoutMs ?? 1000;
    this.maxWaitMs = options.maxWaitMs ?? 250;
    if (!(Number.isInteger(this.queueSize) && this.queueSize >= 0)) throw new TypeError(`shadow queueSize must be a whole number >= 0, got ${this.queueSize}`);
    if (!(Number.isInteger(this.concurrency) && this.concurrency >= 1)) throw new TypeError(`shadow concurrency must be a whole number >= 1, got ${this.concurrency}`);
    if (!(this.timeoutMs > 0)) throw new TypeError(`shadow timeoutMs must be > 0, got ${this.timeoutMs}`);
    if (!(this.maxWaitMs > 0)) throw new TypeError(`shadow maxWaitMs must be > 0, got ${this.maxWaitMs}`);
    this.now = deps.now ?? Date.now;
    this.random = deps.random ?? Math.random;
  }

  /** Shadow calls waiting (tests and diagnostics). */
  get queued(): number {
    return this.queue.length;
  }

  /** Shadow calls running now. */
  get active(): number {
    return this.running;
  }

  /** The afterPrimary hook: samples and enqueues; never throws, never waits. */
  readonly onServed = (served: ServedRequest): void => {
    if (this.stopped) return;
    const shadows = this.deps.shadowsOf(served.loaded.model);
    if (shadows === undefined || shadows.length === 0) return;
    const now = this.now();
    for (const entry of shadows) {
      if (entry.version === served.loaded.version || this.expired(entry, now)) continue;
      if (!(this.random() < entry.fraction)) continue;
      const stats = this.deps.stats.pair(served.loaded.model, served.loaded.version, entry.version, entry.addedAt);
      stats.countMirrored();
      const shadow = this.deps.versionOf(served.loaded.model, entry.version);
      if (shadow === undefined || this.queue.length + this.running >= this.queueSize) {
        stats.countDropped();
        continue;
      }
      this.queue.push({ served, shadow, stats, tolerance: entry.tolerance, queuedAt: now });
    }
    this.schedule();
  };

  /** Nothing to start: sampling begins with the first answered primary. */
  start(): void {}

  /** Drops whatever is queued; running calls finish (their versions wait for them before unloading). */
  stop(): void {
    this.stopped = true;
    for (const job of this.queue.splice(0)) job.stats.countDropped();
  }

  private expired(entry: ShadowEntry, now: number): boolean {
    if (entry.until === null) return false;
    let until = this.untilMs.get(entry);
    if (until === undefined) {
      until = Date.parse(entry.until);
      // An unreadable time would mirror forever; treat it as passed.
      if (Number.isNaN(until)) until = 0;
      this.untilMs.set(entry, until);
    }
    return now >= until;
  }

  private schedule(): void {
    if (this.scheduled || this.queue.length === 0) return;
    this.scheduled = true;
    // After the current callback: the primary's response is written out first.
    setImmediate(() => {
      this.scheduled = false;
      this.pump();
    });
  }

  private pump(): void {
    if (this.stopped) return;
    const now = this.now();
    for (const job of this.queue.splice(0)) {
      const waitLeftMs = this.maxWaitMs - (now - job.queuedAt);
      if (waitLeftMs <= 0) {
        job.stats.countDropped();
        continue;
      }
      this.run(job, waitLeftMs);
    }
  }

  private run(job: Job, waitLeftMs: number): void {
    const { served, shadow, stats } = job;
    const mismatch = inputsMismatch(served, shadow);
    if (mismatch !== undefined) {
      stats.countFailure('shape');
      return;
    }
    if (!shadow.acquire()) {
      stats.countDropped();
      return;
    }
    this.running++;
    const started = performance.now();
    const startedAtMs = Date.now();
    const report = (error: string | undefined): void => {
      try {
        this.deps.onShadowRun?.({ served, shadow, startedAtMs, seconds: (performance.now() - started) / 1000, error });
      } catch (err) {
        this.deps.logger.error('the shadow-run hook failed', { error: String(err) });
      }
    };
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      stats.countFailure('timeout', this.timeoutMs / 1000);
    }, this.timeoutMs);
    timer.unref();
    let dropped = false;
    const run = shadow.queue.submit(served.feeds, served.outputs, { remainingMs: this.timeoutMs, shadow: true, maxWaitMs: waitLeftMs }).catch((err: unknown) => {
      if (!isQueueRefusal(err)) throw err;
      dropped = true;
      return undefined;
    });
    run
      .then(
        (results) => {
          clearTimeout(timer);
          if (dropped || !results) return void (timedOut || stats.countDropped());
          report(undefined);
          const seconds = (performance.now() - started) / 1000;
          // Used as a shadow: retirement (issue #6) must not take it for unused.
          shadow.stats.lastShadowUsedMs = Date.now();
          if (timedOut) return;
          // session.run may block the thread past the timer; it still counts as late.
          if (seconds * 1000 > this.timeoutMs) return stats.countFailure('timeout', seconds);
          const comparison = compareOutputs(served.outputs, served.results, results, job.tolerance);
          if (comparison.ok) stats.countCompared(comparison.outputs, comparison.agreed, seconds);
          else stats.countFailure('shape', seconds);
        },
        (err: Error) => {
          clearTimeout(timer);
          report(err.message);
          if (timedOut) return;
          stats.countFailure('error', (performance.now() - started) / 1000);
          this.deps.logger.debug('shadow call failed', { model: shadow.model, version: shadow.version, error: err.message });
        },
      )
      .catch((err: unknown) => this.deps.logger.error('comparing a shadow failed', { model: shadow.model, version: shadow.version, error: String(err) }))
      .finally(() => {
        shadow.release();
        this.running--;
        this.schedule();
      });
  }
}

/**
 * Why the shadow cannot take the primary's decoded inputs or produce its
 * outputs (a signature change); undefined when it can.
 */
function inputsMismatch(served: ServedRequest, shadow: LoadedVersion): string | undefined {
  const primaryInputs = served.loaded.record.signature.inputs;
  const shadowSig = shadow.record.signature;
  if (shadowSig.inputs.length !== primaryInputs.length) return `the shadow takes ${shadowSig.inputs.length} inputs, the primary ${primaryInputs.length}`;
  for (const spec of shadowSig.inputs) {
    const given = primaryInputs.find((p) => p.name === spec.name);
    if (!given) return `input ${spec.name} is not an input of the primary`;
    if (given.datatype !== spec.datatype) return `input ${spec.name} is ${spec.datatype}, the primary's ${given.datatype}`;
  }
  for (const name of served.outputs) {
    if (!shadowSig.outputs.some((o) => o.name === name)) return `output ${name} is not an output of the shadow`;
  }
  return undefined;
}
