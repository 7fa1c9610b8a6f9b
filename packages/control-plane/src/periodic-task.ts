import type { Logger } from '@switchyard/core';

/** Options for {@link PeriodicTask}. */
export interface PeriodicTaskOptions<T> {
  /** One run of the task. */
  run: () => Promise<T>;
  /** Time from the end of one run to the start of the next. */
  intervalMs: number;
  logger: Logger;
  /** Logged as a warning when a scheduled run fails, e.g. 'artifact collection failed; retrying at the next sweep'. */
  failureMessage: string;
}

/**
 * A task run every `intervalMs`, one run at a time: a run asked for while
 * one is going shares it, a failed scheduled run is logged and the next one
 * comes on time, and stop() waits for the run in progress. Its timer never
 * keeps the process alive.
 */
export class PeriodicTask<T> {
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<T> | undefined;
  #stopped = false;

  constructor(private readonly o: PeriodicTaskOptions<T>) {}

  /** Schedules the first run an interval from now; no-op once started or stopped. */
  start(): void {
    if (this.#stopped || this.#timer) return;
    this.#schedule();
  }

  /** No more runs; resolves once the run in progress, if any, has ended. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#running?.catch(() => undefined);
  }

  /** One run now; concurrent calls share it. */
  runOnce(): Promise<T> {
    return (this.#running ??= this.o.run().finally(() => (this.#running = undefined)));
  }

  #schedule(): void {
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.runOnce()
        .catch((err: unknown) => this.o.logger.warn(this.o.failureMessage, { error: (err as Error).message }))
        .finally(() => {
          if (!this.#stopped) this.#schedule();
        });
    }, this.o.intervalMs);
    this.#timer.unref();
  }
}
