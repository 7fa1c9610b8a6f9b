import type { Tensor } from 'onnxruntime-node';
import { resourceExhausted, type Logger, type SwitchyardError } from '@switchyard/core';
import { evictionFor, expiredPositions, planBatch, type BatchPolicy, type Plannable } from './batch-plan.js';
import { batchKey, concatFeeds, splitOutputs } from './batch-tensors.js';
import type { QueueStats, RejectionReason } from './queue-metrics.js';
import type { RunLimits, VersionSession } from './session-interface.js';
import { cancelled, deadlineExceeded } from './session-process.js';

/** The queue and batching settings of one version (resolved runtime settings). */
export interface QueueSettings {
  maxBatchSize: number;
  maxBatchDelayMs: number;
  preferredBatchSizes: readonly number[];
  /** Requests waiting at most; more are refused with RESOURCE_EXHAUSTED. */
  queueSize: number;
  /** Longest wait in the queue, ms; 0: the caller's deadline only. */
  queueTimeoutMs: number;
}

/** How long after a batch of several callers the version still counts as under load (see VersionQueue.idle). */
const RECENT_BATCH_MS = 50;
/** The callers' concurrency is the most rows queued and running at once within the last one to two of these windows. */
const CONCURRENCY_WINDOW_MS = 100;

/** The settings of a version nobody configured: no batching, a generous bound. */
export const UNBATCHED: QueueSettings = { maxBatchSize: 1, maxBatchDelayMs: 0, preferredBatchSizes: [], queueSize: 1024, queueTimeoutMs: 0 };

/**
 * Whether the caller is still there, and a signal for runs that can be
 * abandoned or stopped. Made lazily by the caller: runs on the main thread
 * never read `signal`, so they never pay for an AbortController and a
 * listener (measured: a few percent of a small model's request cost).
 */
export interface CallCancel {
  readonly cancelled: boolean;
  readonly signal?: AbortSignal | undefined;
  /** Called once the run is over: a cancellation after it aborts nothing. */
  done?(): void;
}

/**
 * A traced request's queue wait and run, as child spans of its request span
 * (tracing.ts). Times are `now`'s clock (performance.now by default). Given
 * only when tracing is on: an untraced request costs one check of a field.
 */
export interface QueueTrace {
  /** The request waited from `fromMs` to `toMs` before its run started (equal: it started at once). */
  queued(fromMs: number, toMs: number): void;
  /** Its run, alone or in a batch of `requests` requests and `rows` rows, from `fromMs` to `toMs`; `error` when it failed. */
  computed(fromMs: number, toMs: number, rows: number, requests: number, error?: unknown): void;
}

/** Options of one {@link VersionQueue.submit}. */
export interface SubmitOptions {
  /** Milliseconds the caller still waits (its deadline); Infinity when it set none. */
  remainingMs: number;
  /** A shadow call: lowest priority, dropped first when the queue is full. */
  shadow?: boolean;
  /** Longest wait in the queue for this request, over the version's queue time-out (shadow calls). */
  maxWaitMs?: number;
  cancel?: CallCancel;
  /** Spans of a traced request. @default untraced */
  trace?: QueueTrace | undefined;
}

interface Item extends Plannable {
  feeds: Record<string, Tensor>;
  outputs: readonly string[];
  rows: number;
  group: string;
  enqueuedAt: number;
  shadow: boolean;
  expiresAt: number;
  expiry: RejectionReason;
  deadlineAt: number;
  cancel: CallCancel | undefined;
  trace: QueueTrace | undefined;
  resolve: (r: Record<string, Tensor>) => void;
  reject: (e: Error) => void;
}

/** Options for {@link VersionQueue}. */
export interface VersionQueueOptions {
  /** The version's sessions: runs go to whichever is free. */
  sessions: readonly VersionSession[];
  settings: QueueSettings;
  /** Whether requests may be concatenated (every input has a variable first dimension). */
  batchable: boolean;
  /**
   * A session in a worker thread is given the next run while one computes:
   * the run waits in the thread's inbox and starts the moment the first
   * ends, instead of after its answer has crossed to the main thread and the
   * queue has planned again. Under load the main thread is late to do that
   * (measured at twice capacity on the saturation MLP: 4.4 ms from
   * dispatch to answer for runs that compute in about 1.7 ms). The cost: a thread that crashes
   * fails two runs, and a run sent early cannot take the requests that
   * arrive while it waits. @default false
   */
  pipelined?: boolean;
  stats: QueueStats;
  /** Names the version in messages, e.g. "model 'm' version 'v1'". */
  label: string;
  logger?: Logger;
  /** @default performance.now */
  now?: () => number;
}

/**
 * One version's bounded queue in front of its sessions (issue #17): requests
 * wait here for a free session, are batched (batch-plan.ts) when the
 * version allows it, and are refused or dropped, never computed late, when
 * the queue is full or their time is up. A request that finds a session free
 * and nothing waiting runs at once.
 */
export class VersionQueue {
  private readonly items: Item[] = [];
  private readonly free: VersionSession[];
  private readonly policy: BatchPolicy;
  private readonly now: () => number;
  private running = 0;
  /** When the last run ended (ms, `now`'s clock). */
  private lastEnded = Number.NEGATIVE_INFINITY;
  /** Callers the last run answered: more than one means requests are arriving together. */
  private lastRunRequests = 0;
  /** Rows waiting (batchable requests) and rows being computed. */
  private queuedRows = 0;
  private runningRows = 0;
  /** The most rows queued and running at once, in this window and the one before (see {@link concurrency}). */
  private peakRows = 0;
  private previousPeakRows = 0;
  private peakWindowAt = Number.NEGATIVE_INFINITY;
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Number.POSITIVE_INFINITY;
  private minExpiry = Number.POSITIVE_INFINITY;
  /**
   * The batch the queue is waiting to fill (planBatch said 'wait'): its
   * group, rows and due time. A primary of that group arriving before then
   * that still leaves the batch short changes nothing the plan decides, so
   * it joins without the batch being planned again (at concurrency 32 a
   * plan per arrival was 3 µs of every request's main-thread time).
   */
  private armed: { group: string; rows: number; atMs: number; dueRows: number } | undefined;
  /** Set when a batched run's outputs could not be split by rows: the version runs requests alone from then on. */
  private splitBroken = false;
  private readonly batching: boolean;
  /** The one session, when it may run some requests on the main thread at once. */
  private readonly inline: VersionSession | undefined;

  constructor(private readonly o: VersionQueueOptions) {
    // A slot per run a session may hold: two for a worker thread when pipelined.
    this.free = o.sessions.flatMap((session) => (o.pipelined && session.host === 'worker' ? [session, session] : [session]));
    this.now = o.now ?? (() => performance.now());
    const s = o.settings;
    this.policy = { maxBatchSize: s.maxBatchSize, maxBatchDelayMs: s.maxBatchDelayMs, preferredBatchSizes: new Set(s.preferredBatchSizes) };
    this.batching = o.batchable && s.maxBatchSize > 1;
    this.inline = o.sessions.length === 1 && o.sessions[0]!.runInline ? o.sessions[0] : undefined;
  }

  /** The version's queue figures. */
  get stats(): QueueStats {
    return this.o.stats;
  }

  /** Requests waiting now. */
  get waiting(): number {
    return this.items.length;
  }

  /** Runs in progress. */
  get active(): number {
    return this.running;
  }

  /**
   * Runs `feeds` as soon as a session is free, alone or in a batch.
   * Rejects with RESOURCE_EXHAUSTED when the queue is full, DEADLINE_EXCEEDED
   * when its time passes while it waits, CANCELLED when the caller left.
   */
  submit(feeds: Record<string, Tensor>, outputs: readonly string[], o: SubmitOptions): Promise<Record<string, Tensor>> {
    if (this.inline) {
      // A measured run on the main thread is over before another request can arrive: nothing to queue or batch.
      const startedAt = o.trace ? this.now() : 0;
      const direct = this.inline.runInline!(feeds, outputs);
      if (direct) {
        const rows = firstDimension(feeds);
        this.o.stats.batchSize.observe(rows);
        if (o.trace) {
          o.trace.queued(startedAt, startedAt);
          this.traceCompute(o.trace, startedAt, direct, rows);
        }
        return direct;
      }
    }
    const now = this.now();
    const shadow = o.shadow === true;
    // The common case at low load: nothing waits, a session is free, no reason to wait for company.
    if (this.items.length === 0 && this.free.length > 0 && (!this.batching || this.policy.maxBatchDelayMs === 0 || this.idle(now))) {
      this.o.stats.queueTime.observe(0);
      o.trace?.queued(now, now);
      return this.runOne(feeds, outputs, o.remainingMs, o.cancel, now, o.trace);
    }
    if (this.items.length >= this.o.settings.queueSize) {
      const victim = shadow ? -1 : evictionFor(this.items);
      if (victim < 0) {
        this.o.stats.reject(shadow ? 'shadow_dropped' : 'queue_full');
        return Promise.reject(
          refusal(resourceExhausted(
            `the queue of ${this.o.label} is full (runtime queueSize: ${this.o.settings.queueSize} requests waiting); retry later, on another node, or raise queueSize`,
          )),
        );
      }
      this.armed = undefined;
      const [evicted] = this.items.splice(victim, 1);
      this.queuedRows -= evicted!.rows;
      this.o.stats.reject('shadow_dropped');
      evicted!.reject(refusal(resourceExhausted(`a shadow call to ${this.o.label} gave its place in the queue to a primary request`)));
    }
    const { rows, group } = this.batching && !this.splitBroken ? batchKey(feeds, outputs) : { rows: 0, group: '' };
    const qt = o.maxWaitMs ?? this.o.settings.queueTimeoutMs;
    const byQueue = qt > 0 && qt < o.remainingMs;
    const expiresAt = now + (byQueue ? qt : o.remainingMs);
    return new Promise<Record<string, Tensor>>((resolve, reject) => {
      this.items.push({
        feeds,
        outputs,
        rows,
        group,
        enqueuedAt: now,
        shadow,
        expiresAt,
        expiry: shadow ? 'shadow_dropped' : byQueue ? 'queue_timeout' : 'deadline',
        deadlineAt: now + o.remainingMs,
        cancel: o.cancel,
        trace: o.trace,
        resolve,
        reject,
      });
      this.queuedRows += rows;
      this.notePeak(now);
      if (expiresAt < this.minExpiry) this.minExpiry = expiresAt;
      if (!this.joinsArmedBatch(rows, group, shadow, now)) this.pump();
    });
  }

  /**
   * Whether a request just queued only adds to the batch being waited for,
   * so that planning again would decide the same wait: a primary of the
   * armed batch's group whose rows still leave it short of the batch size
   * (and of every preferred size), nothing expired, the version not idle.
   */
  private joinsArmedBatch(rows: number, group: string, shadow: boolean, now: number): boolean {
    const armed = this.armed;
    if (!armed || shadow || rows === 0 || group !== armed.group || now >= armed.atMs || now >= this.minExpiry) return false;
    const total = armed.rows + rows;
    if (total >= this.policy.maxBatchSize || total >= armed.dueRows || this.policy.preferredBatchSizes.has(total) || this.idle(now)) return false;
    armed.rows = total;
    return true;
  }

  /** Fails every waiting request (the version is unloading or being replaced). */
  clear(err: Error): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.armed = undefined;
    this.queuedRows = 0;
    for (const item of this.items.splice(0)) item.reject(err);
  }

  /**
   * Low load, where a request never waits for company: nothing runs, and the
   * last run answered a single caller or ended a while ago. After a batch
   * (under load) the callers it answered send their next requests one by one
   * while the node writes the answers out; without waiting, the first of
   * them would take the session as a batch of one and the rest would queue
   * behind it (measured at concurrency 32: as many runs of one row as full
   * ones). It waits at most the batch delay from its own arrival, and less
   * once half of them are back (see {@link dueRows}).
   */
  private idle(now: number): boolean {
    if (this.running > 0) return false;
    return this.lastRunRequests <= 1 || now - this.lastEnded >= RECENT_BATCH_MS;
  }

  /**
   * The rows at which a batch that is not full runs without waiting out the
   * delay (planBatch's `dueRows`). At low load, 1: a lone request never waits
   * for company. Under load, half the callers' concurrency, so that one batch
   * forms while the other computes. With every caller in one batch they move
   * in lockstep: the session idles while the whole batch is answered and
   * comes back, and nobody arrives while it computes (measured on the
   * saturation MLP at client concurrency 32: two halves served ×1.3–1.5 as
   * many requests as one batch of 32; docs/benchmarks.md, session 7).
   */
  private dueRows(now: number): number {
    if (this.idle(now)) return 1;
    return Math.max(1, Math.ceil(this.concurrency(now) / 2));
  }

  /**
   * The callers' concurrency as the node sees it: the most rows queued and
   * running at once lately. Callers being answered or on their way back are
   * not seen, but each is counted at the moments it waits or runs while the
   * other half waits or runs too.
   */
  private concurrency(now: number): number {
    this.notePeak(now);
    return Math.max(this.peakRows, this.previousPeakRows);
  }

  private notePeak(now: number): void {
    if (now - this.peakWindowAt >= CONCURRENCY_WINDOW_MS) {
      this.previousPeakRows = now - this.peakWindowAt >= 2 * CONCURRENCY_WINDOW_MS ? 0 : this.peakRows;
      this.peakRows = 0;
      this.peakWindowAt = now;
    }
    const rows = this.queuedRows + this.runningRows;
    if (rows > this.peakRows) this.peakRows = rows;
  }

  /** A traced request's span for a run it had alone, started at `startedAt`. */
  private traceCompute(trace: QueueTrace, startedAt: number, run: Promise<unknown>, rows: number): void {
    run.then(
      () => trace.computed(startedAt, this.now(), rows, 1),
      (err: unknown) => trace.computed(startedAt, this.now(), rows, 1, err),
    );
  }

  private runOne(feeds: Record<string, Tensor>, outputs: readonly string[], remainingMs: number, cancel: CallCancel | undefined, now: number, trace?: QueueTrace): Promise<Record<string, Tensor>> {
    const session = this.free.pop()!;
    this.running++;
    const firstDim = firstDimension(feeds);
    this.runningRows += firstDim;
    const limits: RunLimits = cancel ? { timeoutMs: remainingMs, get signal() { return cancel.signal; } } : { timeoutMs: remainingMs };
    let run: Promise<Record<string, Tensor>>;
    try {
      run = session.run(feeds, outputs, limits);
    } catch (err) {
      run = Promise.reject(err as Error);
    }
    if (trace) this.traceCompute(trace, now, run, firstDim);
    // One function for both outcomes (no second closure per run): a run fails with an Error, and only a success counts in the batch figures.
    const settle = (outcome: unknown): void => {
      cancel?.done?.();
      const seconds = (this.now() - now) / 1000;
      this.o.stats.computeTime.observe(seconds);
      this.o.stats.batchSize.observe(firstDim);
      if (!(outcome instanceof Error)) this.o.stats.recordBatch(firstDim, 0, seconds, 0);
      this.free.push(session);
      this.running--;
      this.lastEnded = this.now();
      this.lastRunRequests = 1;
      this.runningRows -= firstDim;
      if (this.items.length > 0) this.pump();
    };
    run.then(settle, settle);
    return run;
  }

  private pump(): void {
    const now = this.now();
    this.armed = undefined;
    if (now >= this.minExpiry) this.sweep(now);
    while (this.free.length > 0 && this.items.length > 0) {
      const dueRows = this.dueRows(now);
      const plan = planBatch(this.items, this.policy, now, dueRows);
      if (plan.kind === 'idle') break;
      if (plan.kind === 'wait') {
        if (plan.group !== undefined) this.armed = { group: plan.group, rows: plan.rows, atMs: plan.atMs, dueRows };
        this.wakeAt(plan.atMs);
        break;
      }
      const live = this.take(plan.take);
      if (live.length > 0) this.dispatch(live, now);
    }
    if (this.items.length > 0 && Number.isFinite(this.minExpiry)) this.wakeAt(this.minExpiry);
  }

  /**
   * Removes the queue positions `take` (ascending) in one pass and returns
   * their requests whose callers are still there; the others are answered
   * CANCELLED.
   */
  private take(take: readonly number[]): Item[] {
    const items = this.items;
    const live: Item[] = [];
    let kept = 0;
    let next = 0;
    let keptRows = 0;
    for (let i = 0; i < items.length; i++) {
      const item = items[i]!;
      if (next < take.length && take[next] === i) {
        next++;
        if (!item.cancel?.cancelled) live.push(item);
        else {
          this.o.stats.reject('cancelled');
          item.reject(cancelled('the caller cancelled the call while it waited in the queue'));
        }
      } else {
        items[kept++] = item;
        keptRows += item.rows;
      }
    }
    items.length = kept;
    this.queuedRows = keptRows;
    return live;
  }

  private dispatch(items: Item[], now: number): void {
    for (const item of items) this.o.stats.queueTime.observe((now - item.enqueuedAt) / 1000);
    if (items.length === 1) {
      const item = items[0]!;
      item.trace?.queued(item.enqueuedAt, now);
      this.runOne(item.feeds, item.outputs, Math.max(0, item.deadlineAt - now), item.cancel, now, item.trace).then(item.resolve, item.reject);
      return;
    }
    for (const item of items) item.trace?.queued(item.enqueuedAt, now);
    const session = this.free.pop()!;
    this.running++;
    const rowsPer: number[] = new Array<number>(items.length);
    const inputs: Record<string, Tensor>[] = new Array<Record<string, Tensor>>(items.length);
    let rows = 0;
    let lastDeadline = Number.NEGATIVE_INFINITY;
    for (let i = 0; i < items.length; i++) {
      const item = items[i]!;
      rowsPer[i] = item.rows;
      inputs[i] = item.feeds;
      rows += item.rows;
      if (item.deadlineAt > lastDeadline) lastDeadline = item.deadlineAt;
    }
    this.runningRows += rows;
    this.notePeak(now);
    let run: Promise<Record<string, Tensor>>;
    let inferAt = now;
    try {
      const feeds = concatFeeds(inputs, rows);
      inferAt = this.now();
      run = session.run(feeds, items[0]!.outputs, { timeoutMs: Math.max(0, lastDeadline - now) });
    } catch (err) {
      run = Promise.reject(err as Error);
    }
    const traced = (end: number, err?: unknown): void => {
      for (const item of items) item.trace?.computed(now, end, rows, items.length, err);
    };
    run
      .then(
        (results) => {
          const ranAt = this.now();
          this.o.stats.computeTime.observe((ranAt - now) / 1000);
          this.o.stats.batchSize.observe(rows);
          const parts = splitOutputs(results, rowsPer);
          const end = this.now();
          traced(end);
          if (parts) {
            this.o.stats.recordBatch(rows, (inferAt - now) / 1000, (ranAt - inferAt) / 1000, (end - ranAt) / 1000);
            return items.forEach((item, i) => item.resolve(parts[i]!));
          }
          // Outputs that do not keep one row per input row: answer each alone, and stop batching.
          this.splitBroken = true;
          this.o.logger?.warn('a batched run returned outputs that cannot be split by rows; this version now runs requests alone', { version: this.o.label });
          for (const item of items.reverse()) this.items.unshift({ ...item, rows: 0, group: '' });
        },
        (err: Error) => {
          traced(this.now(), err);
          for (const item of items) item.reject(err);
        },
      )
      .finally(() => {
        this.free.push(session);
        this.running--;
        this.lastEnded = this.now();
        this.lastRunRequests = items.length;
        this.runningRows -= rows;
        this.pump();
      })
      .catch((err: unknown) => this.o.logger?.error('version queue failed after a run', { version: this.o.label, error: String(err) }));
  }

  /** Drops waiting requests whose time is up: nobody waits for their answer any more. */
  private sweep(now: number): void {
    this.armed = undefined;
    const expired = expiredPositions(this.items, now);
    for (let k = expired.length - 1; k >= 0; k--) {
      const [item] = this.items.splice(expired[k]!, 1);
      this.queuedRows -= item!.rows;
      this.o.stats.reject(item!.expiry);
      item!.reject(refusal(
        item!.expiry === 'queue_timeout'
          ? deadlineExceeded(`the request waited ${Math.round(now - item!.enqueuedAt)} ms in the queue of ${this.o.label}, past its queue time-out (runtime queueTimeoutMs: ${this.o.settings.queueTimeoutMs}); it was not run`)
          : item!.expiry === 'shadow_dropped'
            ? deadlineExceeded(`a shadow call to ${this.o.label} waited past its limit`)
            : deadlineExceeded(`the request's deadline passed while it waited in the queue of ${this.o.label}; it was not run`),
      ));
    }
    this.minExpiry = Number.POSITIVE_INFINITY;
    for (const item of this.items) if (item.expiresAt < this.minExpiry) this.minExpiry = item.expiresAt;
  }

  private wakeAt(atMs: number): void {
    if (this.timer !== undefined && this.timerAt <= atMs) return;
    clearTimeout(this.timer);
    this.timerAt = atMs;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.timerAt = Number.POSITIVE_INFINITY;
      this.pump();
    }, Math.max(0, Math.ceil(atMs - this.now())));
  }
}

function firstDimension(feeds: Record<string, Tensor>): number {
  for (const name in feeds) return feeds[name]!.dims[0] ?? 1;
  return 1;
}

const refusals = new WeakSet<object>();

function refusal(err: SwitchyardError): SwitchyardError {
  refusals.add(err);
  return err;
}

/** Whether `err` is one of the queue's own refusals (full, or waited too long): a drop, not a failure of the model. */
export function isQueueRefusal(err: unknown): boolean {
  return typeof err === 'object' && err !== null && refusals.has(err);
}
