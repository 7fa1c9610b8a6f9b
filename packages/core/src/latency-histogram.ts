/**
 * Fine latency histogram shared by nodes (which fill it) and the control
 * plane (which sums it over nodes and reads quantiles for rollout gates).
 * Buckets grow by 2^(1/4) (≈ 19 %) from 50 µs, so a p99 read from summed
 * buckets is within one bucket's width of the true value; 80 buckets reach
 * past 50 s. Counts are non-cumulative; the last slot holds everything above.
 */
export const HISTOGRAM_MIN_SECONDS = 0.00005;
export const HISTOGRAM_GROWTH = 2 ** 0.25;
export const HISTOGRAM_BUCKETS = 80;
const LOG_GROWTH = Math.log(HISTOGRAM_GROWTH);

/** Index of the bucket that counts a latency of `seconds`: 0 for ≤ the minimum, HISTOGRAM_BUCKETS for the overflow. */
export function histogramBucket(seconds: number): number {
  if (!(seconds > HISTOGRAM_MIN_SECONDS)) return 0;
  const i = Math.ceil(Math.log(seconds / HISTOGRAM_MIN_SECONDS) / LOG_GROWTH);
  return i > HISTOGRAM_BUCKETS ? HISTOGRAM_BUCKETS : i;
}

/** Upper bound in seconds of bucket `i` (Infinity for the overflow slot). */
export function histogramUpperBound(i: number): number {
  return i >= HISTOGRAM_BUCKETS ? Infinity : HISTOGRAM_MIN_SECONDS * HISTOGRAM_GROWTH ** i;
}

/** A new, empty histogram: HISTOGRAM_BUCKETS + 1 counts. */
export function emptyHistogram(): number[] {
  return new Array<number>(HISTOGRAM_BUCKETS + 1).fill(0);
}

/** Adds `b` into `a` (both HISTOGRAM_BUCKETS + 1 long, or shorter: missing slots count 0). */
export function addHistogram(a: number[], b: readonly number[]): number[] {
  for (let i = 0; i < b.length && i < a.length; i++) a[i]! += b[i]!;
  return a;
}

/** `a` minus `b`, slot by slot, never below 0. */
export function subtractHistogram(a: readonly number[], b: readonly number[]): number[] {
  return a.map((v, i) => Math.max(0, v - (b[i] ?? 0)));
}

/**
 * The `q` quantile (0–1) in seconds, interpolated inside its bucket; NaN for
 * an empty histogram. The overflow slot reports the largest finite bound.
 */
export function histogramQuantile(counts: readonly number[], q: number): number {
  const total = counts.reduce((s, c) => s + c, 0);
  if (total === 0) return NaN;
  const rank = Math.max(1, Math.ceil(q * total));
  let seen = 0;
  for (let i = 0; i < counts.length; i++) {
    const c = counts[i]!;
    if (c === 0) continue;
    if (seen + c >= rank) {
      if (i >= HISTOGRAM_BUCKETS) return histogramUpperBound(HISTOGRAM_BUCKETS - 1);
      const lower = i === 0 ? 0 : histogramUpperBound(i - 1);
      const upper = histogramUpperBound(i);
      return lower + ((rank - seen) / c) * (upper - lower);
    }
    seen += c;
  }
  return histogramUpperBound(HISTOGRAM_BUCKETS - 1);
}
