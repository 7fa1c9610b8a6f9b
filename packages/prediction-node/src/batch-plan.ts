/**
 * The dynamic batcher's decisions (issue #17, docs/design.md, "Dynamic
 * batching"), as pure functions of the queue and a clock reading, so they
 * are tested without threads or timers. Modelled on Triton's
 * DynamicBatchScheduler::GetDynamicBatch (a batch runs at once when full or
 * at a preferred size, else when its oldest request has waited the delay),
 * with one addition: a batch also runs at once when it holds `dueRows` rows,
 * which the queue sets from what it sees (version-queue.ts): 1 when the
 * version is idle, so a lone request never waits for company that is not
 * coming; half the callers' concurrency under load, so that one batch forms
 * while another computes instead of every caller moving in lockstep.
 */

/** What the planner reads of a queued request. */
export interface Plannable {
  /** Rows along the first dimension; 0 when the request cannot join a batch. */
  readonly rows: number;
  /** Requests with the same group have equal non-batch shapes, types and requested outputs. */
  readonly group: string;
  readonly enqueuedAt: number;
  /** Shadow calls: lowest priority, they only fill room or idle time. */
  readonly shadow: boolean;
}

/** The batching settings the planner applies. */
export interface BatchPolicy {
  /** Most rows in one run; 1: no batching. */
  readonly maxBatchSize: number;
  readonly maxBatchDelayMs: number;
  readonly preferredBatchSizes: ReadonlySet<number>;
}

/** The decision of {@link planBatch}. */
export type BatchPlan =
  /** Run these queue positions (ascending) as one run now. */
  | { kind: 'run'; take: number[]; rows: number }
  /**
   * Nothing to run before `atMs` (or before a request arrives or a run
   * ends); the batch waited for has `rows` rows of `group`, its head a
   * primary (undefined group when its head is a shadow).
   */
  | { kind: 'wait'; atMs: number; rows: number; group: string | undefined }
  | { kind: 'idle' };

/**
 * Picks the next run from `queue` (in arrival order) for one free instance.
 * The head is the oldest primary (the oldest shadow when no primary waits);
 * it is joined by same-group requests, primaries first, while the rows fit.
 * @param dueRows a batch holding this many rows runs at once rather than
 *   wait for the delay (1: whatever is queued runs now; Infinity: only a
 *   full or preferred batch, or one whose oldest request waited the delay).
 */
export function planBatch(queue: readonly Plannable[], policy: BatchPolicy, now: number, dueRows: number): BatchPlan {
  if (queue.length === 0) return { kind: 'idle' };
  let headAt = queue.findIndex((q) => !q.shadow);
  if (headAt < 0) headAt = 0;
  const head = queue[headAt]!;
  const max = policy.maxBatchSize;
  // A request that cannot join a batch, or is a full batch by itself, runs alone.
  if (max <= 1 || head.rows === 0 || head.rows >= max) return { kind: 'run', take: [headAt], rows: head.rows };
  const take = [headAt];
  let rows = head.rows;
  // Set when a same-group request did not fit: waiting cannot make this batch any better for it.
  let full = false;
  // Primaries, then shadows: a shadow only takes room no primary wants.
  for (const shadowPass of [false, true]) {
    for (let i = 0; i < queue.length && rows < max; i++) {
      const q = queue[i]!;
      if (i === headAt || q.shadow !== shadowPass || q.group !== head.group || q.rows === 0) continue;
      if (rows + q.rows > max) {
        full = true;
        continue;
      }
      take.push(i);
      rows += q.rows;
    }
  }
  take.sort((a, b) => a - b);
  if (full || rows >= max || rows >= dueRows || policy.preferredBatchSizes.has(rows)) return { kind: 'run', take, rows };
  let oldest = Number.POSITIVE_INFINITY;
  for (const i of take) if (queue[i]!.enqueuedAt < oldest) oldest = queue[i]!.enqueuedAt;
  const dueAt = oldest + policy.maxBatchDelayMs;
  if (now >= dueAt) return { kind: 'run', take, rows };
  return { kind: 'wait', atMs: dueAt, rows, group: head.shadow ? undefined : head.group };
}

/** Positions of queued requests whose time is up at `now` (`expiresAt` ≤ now), ascending. */
export function expiredPositions(queue: readonly { readonly expiresAt: number }[], now: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < queue.length; i++) if (queue[i]!.expiresAt <= now) out.push(i);
  return out;
}

/**
 * The queued request to give up for a primary that finds the queue full:
 * the newest shadow, or -1 when there is none (the primary is refused).
 */
export function evictionFor(queue: readonly Plannable[]): number {
  for (let i = queue.length - 1; i >= 0; i--) if (queue[i]!.shadow) return i;
  return -1;
}
