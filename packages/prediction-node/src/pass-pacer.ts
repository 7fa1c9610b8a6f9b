import { performance } from 'node:perf_hooks';

/** The default of {@link PassPacer}'s `share`. */
export const DEFAULT_PASS_SHARE = 0.2;
/** The longest a requested pass waits. */
export const MAX_PASS_DELAY_MS = 50;

/**
 * Runs a reconciler pass some time after it was asked for, so that loads
 * ending close together share one pass: a pass costs about 2 ms at 1,000
 * routed models, and a restarted node ends a load every few milliseconds.
 * The wait is what keeps passes at most `share` of the time (four times the
 * last pass's cost at 0.2), at most 50 ms: a node with a few models waits
 * well under a millisecond, a node with thousands merges dozens of loads
 * per pass.
 */
export class PassPacer {
  #pending: NodeJS.Timeout | NodeJS.Immediate | undefined;
  #lastCostMs = 0;

  constructor(
    private readonly pass: () => void,
    private readonly share = DEFAULT_PASS_SHARE,
  ) {}

  /** Asks for a pass; one already asked for covers this one. */
  request(): void {
    if (this.#pending !== undefined) return;
    const delayMs = Math.min(MAX_PASS_DELAY_MS, (this.#lastCostMs * (1 - this.share)) / this.share);
    this.#pending = delayMs < 1 ? setImmediate(() => this.#run()) : setTimeout(() => this.#run(), delayMs);
  }

  /** Drops a pass asked for and not run yet. */
  cancel(): void {
    const pending = this.#pending;
    this.#pending = undefined;
    if (pending === undefined) return;
    clearTimeout(pending as NodeJS.Timeout);
    clearImmediate(pending as NodeJS.Immediate);
  }

  #run(): void {
    this.#pending = undefined;
    const started = performance.now();
    this.pass();
    this.#lastCostMs = performance.now() - started;
  }
}
