import pLimit, { type LimitFunction } from 'p-limit';

/**
 * What loading a model costs in memory, estimated from its file: onnxruntime
 * holds the weights once as read, once as initialised tensors, plus the
 * arena for activations. 3× the file is what the MLP figures in
 * /work/shared/measurements.md suggest (13.6 MB model, ~40 MB above a bare
 * process); a rough bound is enough to keep large models from loading at once.
 */
export const MEMORY_PER_ARTIFACT_BYTE = 3;

/** A Node process with onnxruntime loaded, before any model. */
export const PROCESS_BASE_BYTES = 64 * 1024 * 1024;

/** The estimated memory of validating one version. */
export function estimateMemory(artifactBytes: number): number {
  return PROCESS_BASE_BYTES + MEMORY_PER_ARTIFACT_BYTE * artifactBytes;
}

/** Peaks seen while running, for the report (and the tests that check the limits hold). */
export interface LimitPeaks {
  running: number;
  memoryBytes: number;
}

/**
 * Runs jobs at most `concurrency` at a time and within a memory budget: a
 * job starts only when its estimate fits beside those running. One whose
 * estimate alone exceeds the budget still runs, alone, so a big model is
 * checked slowly rather than never. Jobs start in the order they were added.
 */
export class RunLimits {
  readonly #limit: LimitFunction;
  readonly #budget: number;
  #used = 0;
  #running = 0;
  readonly #waiting: { bytes: number; start: () => void }[] = [];
  readonly peaks: LimitPeaks = { running: 0, memoryBytes: 0 };

  /** @throws TypeError for a concurrency below 1 or a budget that is not positive. */
  constructor(concurrency: number, budgetBytes: number) {
    if (!Number.isInteger(concurrency) || concurrency < 1) throw new TypeError(`concurrency must be a whole number ≥ 1, got ${concurrency}`);
    if (!(budgetBytes > 0)) throw new TypeError(`the memory budget must be > 0 bytes, got ${budgetBytes}`);
    // p-limit keeps the count and the queue order; the budget is checked inside a slot.
    this.#limit = pLimit(concurrency);
    this.#budget = budgetBytes;
  }

  /** Runs `job` once a slot and `bytes` of the budget are free. */
  run<T>(bytes: number, job: () => Promise<T>): Promise<T> {
    return this.#limit(async () => {
      await this.#reserve(bytes);
      this.#running += 1;
      this.peaks.running = Math.max(this.peaks.running, this.#running);
      this.peaks.memoryBytes = Math.max(this.peaks.memoryBytes, this.#used);
      try {
        return await job();
      } finally {
        this.#running -= 1;
        this.#release(bytes);
      }
    });
  }

  #fits(bytes: number): boolean {
    return this.#used === 0 || this.#used + bytes <= this.#budget;
  }

  #reserve(bytes: number): Promise<void> {
    if (this.#waiting.length === 0 && this.#fits(bytes)) {
      this.#used += bytes;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.#waiting.push({ bytes, start: resolve }));
  }

  #release(bytes: number): void {
    this.#used -= bytes;
    // In order: a big job at the head is not starved by small ones behind it.
    while (this.#waiting.length > 0 && this.#fits(this.#waiting[0]!.bytes)) {
      const next = this.#waiting.shift()!;
      this.#used += next.bytes;
      next.start();
    }
  }
}
