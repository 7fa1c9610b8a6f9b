import type { Tensor } from 'onnxruntime-node';
import { unavailable, type Logger } from '@switchyard/core';
import type { RunLimits, SessionHost, VersionSession } from './session-interface.js';
import { cancelled, deadlineExceeded, SessionProcess, type SessionProcessOptions } from './session-process.js';

/** Options for {@link GuardedSession}. */
export interface GuardedSessionOptions {
  /**
   * The session for runs whose cost was measured (inline or in a worker
   * thread); undefined when the model's cost can depend on input values, and
   * every run goes to a process.
   */
  fast: VersionSession | undefined;
  /** The input shapes of the timed warm-up: only runs with exactly these shapes use `fast`. */
  measuredShapes: ReadonlyMap<string, readonly number[]>;
  /**
   * When set, a run whose shapes differ from `measuredShapes` only in a first
   * dimension of 1 to this many rows was measured too: the model's cost
   * follows from shapes, every input has a variable first dimension, and a
   * warm-up of this many rows ran within the limit of the fast session's
   * host (a batch of `maxBatchSize`, issue #17).
   */
  measuredRows?: number;
  /** How to start the process for every other run. */
  process: SessionProcessOptions;
  /** A process the loader already started (and warmed); later ones start on demand. */
  first?: SessionProcess;
  /** The limit of runs whose caller gives none (shadow runs). */
  runTimeoutMs: number;
  logger: Logger;
  /** Called when a process ended by a run's time-out or memory (metrics). */
  onProcessLost?: () => void;
}

/**
 * A version's session with every run bounded (docs/design.md, "Run limits").
 * Runs whose cost is known, because the model's cost follows from input
 * shapes alone and the shapes are those of the timed warm-up, go to the fast
 * session; every other run goes to a {@link SessionProcess}, which is killed
 * when a run passes its limit and started again for the next request.
 */
export class GuardedSession implements VersionSession {
  private current: SessionProcess | undefined;
  private starting: Promise<SessionProcess> | undefined;
  private released = false;
  /** Settles when the last run sent to a process has ended: process runs go one at a time (see {@link inProcess}). */
  private processTurn: Promise<void> = Promise.resolve();

  constructor(private readonly o: GuardedSessionOptions) {
    this.current = o.first;
    if (o.first) this.watch(o.first);
  }

  private watch(proc: SessionProcess): void {
    proc.onEnded = (expected) => {
      if (!expected && !this.released) this.o.onProcessLost?.();
    };
  }

  get host(): SessionHost {
    return this.o.fast?.host ?? 'process';
  }
  get inputNames(): readonly string[] {
    return this.o.fast?.inputNames ?? this.o.first?.inputNames ?? [];
  }
  get outputNames(): readonly string[] {
    return this.o.fast?.outputNames ?? this.o.first?.outputNames ?? [];
  }
  /** The fast session, if any (tests; crash its thread on purpose). */
  get fast(): VersionSession | undefined {
    return this.o.fast;
  }

  run(feeds: Record<string, Tensor>, outputs?: readonly string[], limits?: RunLimits): Promise<Record<string, Tensor>> {
    const fast = this.o.fast;
    // The signal is read only by runs that leave the main thread: it may be made on demand (version-queue.ts).
    if (fast?.host === 'inline' && this.measured(feeds)) return fast.run(feeds, outputs);
    const signal = limits?.signal;
    if (signal?.aborted) return Promise.reject(cancelled('the caller cancelled the call'));
    if (fast && this.measured(feeds)) return abandonable(fast.run(feeds, outputs), signal);
    return this.inProcess(feeds, outputs, limits?.timeoutMs ?? Number.POSITIVE_INFINITY, signal);
  }

  runInline(feeds: Record<string, Tensor>, outputs?: readonly string[]): Promise<Record<string, Tensor>> | undefined {
    const fast = this.o.fast;
    return fast?.host === 'inline' && this.measured(feeds) ? fast.run(feeds, outputs) : undefined;
  }

  processRssBytes(): number {
    return this.current?.alive ? this.current.rssBytes() : 0;
  }

  async release(): Promise<void> {
    this.released = true;
    await this.starting?.catch(() => undefined);
    await Promise.all([this.o.fast?.release(), this.current?.release()]);
  }

  private measured(feeds: Record<string, Tensor>): boolean {
    const maxRows = this.o.measuredRows ?? 0;
    for (const [name, shape] of this.o.measuredShapes) {
      const dims = feeds[name]?.dims;
      if (!dims || dims.length !== shape.length) return false;
      for (let i = 0; i < dims.length; i++) {
        if (dims[i] === shape[i]) continue;
        // Fewer rows than the measured batch cost no more than it did.
        if (i === 0 && maxRows > 0 && dims[0]! >= 1 && dims[0]! <= maxRows) continue;
        return false;
      }
    }
    return true;
  }

  /**
   * One run in the process, after the process runs sent before it have
   * ended: a version queue may hand a worker-hosted session a second run
   * while one computes (version-queue.ts, `pipelined`), and a second run
   * queued in the process would have its run time-out counting the first's
   * time. The caller's deadline counts from the call; the run time-out from
   * the run's start.
   */
  private async inProcess(feeds: Record<string, Tensor>, outputs: readonly string[] | undefined, callerMs: number, signal: AbortSignal | undefined): Promise<Record<string, Tensor>> {
    const deadline = performance.now() + callerMs;
    const before = this.processTurn;
    let done!: () => void;
    this.processTurn = new Promise<void>((resolve) => (done = resolve));
    try {
      await abandonable(before, signal);
      const proc = await this.currentProcess();
      const left = deadline - performance.now();
      if (left <= 0) throw deadlineExceeded(`${this.o.process.label}: the request's deadline (${Math.round(callerMs)} ms) passed before its run could start`);
      return await proc.run(feeds, outputs, { timeoutMs: Math.min(left, this.o.runTimeoutMs), ...(signal ? { signal } : {}) });
    } finally {
      // A caller that left while waiting lets the next go only after the runs ahead of it.
      void before.then(done);
    }
  }

  /** The live process, starting a new one when the last has been killed or crashed. */
  private currentProcess(): Promise<SessionProcess> {
    if (this.released) return Promise.reject(unavailable(`${this.o.process.label} has been unloaded from this node; retry`));
    if (this.current?.alive) return Promise.resolve(this.current);
    this.starting ??= SessionProcess.start(this.o.process).then(
      (p) => {
        this.starting = undefined;
        if (this.released) {
          void p.release();
          throw unavailable(`${this.o.process.label} has been unloaded from this node; retry`);
        }
        this.current = p;
        this.watch(p);
        this.o.logger.info('started a process for runs of a model version', { session: this.o.process.label });
        return p;
      },
      (err: Error) => {
        this.starting = undefined;
        throw unavailable(`the process running ${this.o.process.label} could not be started (${err.message}); retry`, err);
      },
    );
    return this.starting;
  }
}

/** `running`, or CANCELLED as soon as `signal` aborts: the caller has gone, nothing should wait for the result. */
function abandonable<T>(running: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return running;
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(cancelled('the caller cancelled the call'));
    signal.addEventListener('abort', onAbort, { once: true });
    running.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err as Error);
      },
    );
  });
}
