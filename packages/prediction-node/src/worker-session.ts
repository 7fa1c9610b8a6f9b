import type { InferenceSession, Tensor } from 'onnxruntime-node';
import { unavailable, type Logger } from '@switchyard/core';
import type { VersionSession } from './session-interface.js';
import { SessionThread, type ThreadExit } from './session-thread.js';

/** Options for {@link WorkerSession.create}. */
export interface WorkerSessionOptions {
  /** The verified artifact; each (re)started thread creates its session from it. */
  path: string;
  options: InferenceSession.SessionOptions;
  /** Names the session in logs and errors, e.g. "model m version v1". */
  label: string;
  logger: Logger;
  /** Feeds for one warm-up run after each restart, so no request pays onnxruntime's lazy set-up. */
  warmup?: () => Record<string, Tensor>;
  /** Called on every crash of the thread (metrics). */
  onCrash?: () => void;
  /** First restart delay after a crash, doubled per crash in a row. @default 250 */
  restartMinMs?: number;
  /** @default 30000 */
  restartMaxMs?: number;
}

/**
 * A session hosted in a worker thread of its own, so a model that computes
 * for a long time never blocks the node's event loop (health checks,
 * keep-alives, other models). If the thread dies, the runs in flight fail
 * with UNAVAILABLE and the session starts a new thread: at once after a
 * first crash, then with a doubling delay while it keeps crashing. Runs that
 * arrive while a thread is starting wait for it; runs during the delay fail
 * with UNAVAILABLE at once.
 */
export class WorkerSession implements VersionSession {
  readonly host = 'worker';
  private thread: SessionThread | undefined;
  private starting: Promise<SessionThread> | undefined;
  private restartTimer: NodeJS.Timeout | undefined;
  private crashesInARow = 0;
  private released = false;

  private constructor(
    private readonly o: WorkerSessionOptions,
    readonly inputNames: readonly string[],
    readonly outputNames: readonly string[],
  ) {}

  /**
   * Starts the thread and creates the session in it; rejects like an inline
   * load would. The caller warms it up; `warmup` serves restarts.
   */
  static async create(o: WorkerSessionOptions): Promise<WorkerSession> {
    let session: WorkerSession | undefined;
    const thread = await SessionThread.start({ ...o, onExit: (exit) => session?.exited(thread, exit) });
    session = new WorkerSession(o, thread.inputNames, thread.outputNames);
    session.thread = thread;
    return session;
  }

  /** The live thread, if any (tests: crash it on purpose). */
  get currentThread(): SessionThread | undefined {
    return this.thread;
  }

  async run(feeds: Record<string, Tensor>, outputs?: readonly string[]): Promise<Record<string, Tensor>> {
    const thread = this.thread ?? (await this.waitForThread());
    const results = await thread.run(feeds, outputs);
    this.crashesInARow = 0;
    return results;
  }

  async release(): Promise<void> {
    this.released = true;
    clearTimeout(this.restartTimer);
    const thread = this.thread ?? (await this.starting?.catch(() => undefined));
    this.thread = undefined;
    await thread?.release();
  }

  private waitForThread(): Promise<SessionThread> {
    if (this.released) return Promise.reject(unavailable(`${this.o.label} has been unloaded from this node; retry`));
    if (this.starting) {
      return this.starting.catch((err: Error) => {
        throw unavailable(`restarting the worker thread running ${this.o.label} failed (${err.message}); retry`, err);
      });
    }
    return Promise.reject(unavailable(`the worker thread running ${this.o.label} crashed and is being restarted; retry`));
  }

  /** The thread `thread` ended; restart unless this session is being released. */
  private exited(thread: SessionThread, exit: ThreadExit): void {
    if (this.thread === thread) this.thread = undefined;
    if (exit.expected || this.released) return;
    this.o.onCrash?.();
    const delay = this.scheduleRestart();
    this.o.logger.error('the worker thread running a model crashed; its requests in flight failed with UNAVAILABLE; restarting it', {
      session: this.o.label,
      exitCode: exit.code,
      error: exit.error?.message,
      crashesInARow: this.crashesInARow,
      restartInMs: delay,
    });
  }

  /** Counts a failure and plans the next start: at once after the first, then doubling. */
  private scheduleRestart(): number {
    this.crashesInARow++;
    const min = this.o.restartMinMs ?? 250;
    const delay = this.crashesInARow === 1 ? 0 : Math.min(min * 2 ** (this.crashesInARow - 2), this.o.restartMaxMs ?? 30_000);
    clearTimeout(this.restartTimer);
    this.restartTimer = setTimeout(() => this.restart(), delay);
    return delay;
  }

  private restart(): void {
    if (this.released || this.starting) return;
    let started: SessionThread | undefined;
    const starting = SessionThread.start({ ...this.o, onExit: (exit) => started && this.exited(started, exit) }).then(async (thread) => {
      started = thread;
      if (this.o.warmup) await thread.run(this.o.warmup());
      return thread;
    });
    this.starting = starting;
    starting.then(
      (thread) => {
        this.starting = undefined;
        if (this.released) return void thread.release();
        this.thread = thread;
        this.o.logger.info('the worker thread running a model was restarted', { session: this.o.label });
      },
      (err: Error) => {
        this.starting = undefined;
        if (this.released) return;
        // A thread that died during its warm-up has planned the next start already (exited).
        if (started && !started.alive) return;
        if (started) void started.release();
        const delay = this.scheduleRestart();
        this.o.logger.error('restarting the worker thread running a model failed; trying again', {
          session: this.o.label,
          error: err.message,
          restartInMs: delay,
        });
      },
    );
  }
}
