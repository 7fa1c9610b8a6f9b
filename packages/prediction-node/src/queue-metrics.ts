import type { Metric } from 'prom-client';
import { LATENCY_BUCKETS } from './version-stats.js';

/** Batch sizes (rows per run) the histogram separates. */
export const BATCH_SIZE_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256] as const;

/** Why a version's queue gave up a request without running it. */
export const REJECTION_REASONS = ['queue_full', 'queue_timeout', 'deadline', 'cancelled', 'shadow_dropped'] as const;
export type RejectionReason = (typeof REJECTION_REASONS)[number];

/** Runs of one batch size that succeeded, and their time in seconds (Triton's batch_stats). */
export interface BatchFigures {
  count: number;
  /** Putting the requests' inputs together for the run (0 for a run of one request). */
  inputSeconds: number;
  /** The session's run. */
  inferSeconds: number;
  /** Splitting the outputs among the requests (0 for a run of one request). */
  outputSeconds: number;
}

/** Distinct batch sizes kept per version: a batch size is what callers sent, so it is bounded here, not by them. */
export const MAX_BATCH_SIZES = 256;

/** Non-cumulative counts per bucket; the last slot is +Inf. */
class Buckets {
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(private readonly bounds: readonly number[]) {
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(value: number, times = 1): void {
    let i = 0;
    while (i < this.bounds.length && value > this.bounds[i]!) i++;
    this.counts[i]! += times;
    this.sum += value * times;
    this.count += times;
  }
}

/**
 * One version's queue figures, in plain fields like {@link VersionStats}
 * (labelled prom-client children cost microseconds per observation), turned
 * into samples at scrape time. One per loaded version, gone with it: the
 * series stay bounded by what is loaded.
 */
export class QueueStats {
  /** Seconds each request waited in the queue before its run started. */
  readonly queueTime = new Buckets(LATENCY_BUCKETS);
  /** Seconds each run took (a batch counts once). */
  readonly computeTime = new Buckets(LATENCY_BUCKETS);
  /** Rows of each run. */
  readonly batchSize = new Buckets(BATCH_SIZE_BUCKETS);
  /** Requests per run: how many callers one run answered. */
  requestsPerRun = 0;
  readonly rejected = new Float64Array(REJECTION_REASONS.length);
  /** Successful timed runs per batch size (rows); runs on the main thread at once are not timed, so not here. */
  readonly batches = new Map<number, BatchFigures>();

  constructor(
    readonly model: string,
    readonly version: string,
  ) {}

  reject(reason: RejectionReason): void {
    this.rejected[REJECTION_REASONS.indexOf(reason)]!++;
  }

  /** One successful run of `rows` rows; times in seconds. */
  recordBatch(rows: number, inputSeconds: number, inferSeconds: number, outputSeconds: number): void {
    let b = this.batches.get(rows);
    if (!b) {
      if (this.batches.size >= MAX_BATCH_SIZES) return;
      b = { count: 0, inputSeconds: 0, inferSeconds: 0, outputSeconds: 0 };
      this.batches.set(rows, b);
    }
    b.count++;
    b.inputSeconds += inputSeconds;
    b.inferSeconds += inferSeconds;
    b.outputSeconds += outputSeconds;
  }

  /** Rejections counted for `reason` (tests, bench). */
  rejections(reason: RejectionReason): number {
    return this.rejected[REJECTION_REASONS.indexOf(reason)]!;
  }
}

type Sample = { value: number; labels: Record<string, string | number>; metricName?: string };

function histogramSamples(name: string, labels: Record<string, string>, b: Buckets, bounds: readonly number[]): Sample[] {
  const out: Sample[] = [];
  let cumulative = 0;
  bounds.forEach((le, i) => {
    cumulative += b.counts[i]!;
    out.push({ value: cumulative, labels: { ...labels, le }, metricName: `${name}_bucket` });
  });
  out.push({ value: b.count, labels: { ...labels, le: '+Inf' }, metricName: `${name}_bucket` });
  out.push({ value: b.sum, labels, metricName: `${name}_sum` });
  out.push({ value: b.count, labels, metricName: `${name}_count` });
  return out;
}

/** A prom-client metric computed from {@link QueueStats} at scrape time. */
function statsMetric(name: string, help: string, type: 'counter' | 'histogram', stats: () => Iterable<QueueStats>, samples: (s: QueueStats) => Sample[]): Metric {
  return {
    name,
    help,
    type,
    aggregator: 'sum',
    get: () => {
      const values: Sample[] = [];
      for (const s of stats()) values.push(...samples(s));
      return Promise.resolve({ name, help, type, aggregator: 'sum', values });
    },
  } as unknown as Metric;
}

/**
 * The queue metrics of every loaded version: queue time, compute time and
 * batch size histograms, and rejections by reason (reasons with a count only).
 */
export function queueMetrics(stats: () => Iterable<QueueStats>): Metric[] {
  const labels = (s: QueueStats) => ({ model: s.model, version: s.version });
  return [
    statsMetric('switchyard_queue_duration_seconds', 'Time a request waited in its version queue before its run started (runs measured small enough for the main thread start at once and are not counted).', 'histogram', stats, (s) =>
      histogramSamples('switchyard_queue_duration_seconds', labels(s), s.queueTime, LATENCY_BUCKETS),
    ),
    statsMetric('switchyard_compute_duration_seconds', 'Time of one run of a version off the main thread (a batch counts once).', 'histogram', stats, (s) =>
      histogramSamples('switchyard_compute_duration_seconds', labels(s), s.computeTime, LATENCY_BUCKETS),
    ),
    statsMetric('switchyard_batch_size', 'Rows in one run of a version (1 when batching is off).', 'histogram', stats, (s) =>
      histogramSamples('switchyard_batch_size', labels(s), s.batchSize, BATCH_SIZE_BUCKETS),
    ),
    statsMetric('switchyard_queue_rejections_total', 'Requests a version queue gave up without running them, by reason.', 'counter', stats, (s) =>
      REJECTION_REASONS.flatMap((reason, i) => (s.rejected[i]! > 0 ? [{ value: s.rejected[i]!, labels: { ...labels(s), reason } }] : [])),
    ),
  ];
}
