import type { Metric } from 'prom-client';
import { HISTOGRAM_BUCKETS, histogramBucket, type VersionCounters } from '@switchyard/core';

type MetricType = 'counter' | 'histogram';

/** Latency buckets in seconds, from 100 µs (a small model) to 2.5 s (a large one). */
export const LATENCY_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5] as const;

/**
 * One version's request counters, kept in plain fields. prom-client's
 * labelled children hash and validate their labels on every inc()/observe();
 * on the inference hot path that was measurable (1–3 µs of ≈15 µs per call),
 * so requests are counted here and turned into Prometheus samples only when
 * /metrics is scraped.
 */
export class VersionStats {
  /** Requests answered. */
  requests = 0;
  /**
   * Requests this version took but failed to answer (onnxruntime rejected the
   * input at run time, or the output could not be encoded). Requests refused
   * before reaching a version (bad tensors, unknown model) are not its fault
   * and are not counted here.
   */
  errors = 0;
  latencySum = 0;
  /** Wall-clock ms of the last answered request; 0 when none. */
  lastUsedMs = 0;
  /** Wall-clock ms of the last request it answered or failed; 0 when none. /metrics details the versions active lately. */
  lastActiveMs = 0;
  /**
   * Wall-clock ms of the last request this version answered as a shadow; 0
   * when none. Set by shadow mirroring; published as usage (issue #6), so a
   * version that is only shadowed is not retired as unused.
   */
  lastShadowUsedMs = 0;
  /** Non-cumulative counts per bucket; the last slot is +Inf. */
  readonly buckets = new Float64Array(LATENCY_BUCKETS.length + 1);
  /** Non-cumulative counts over core's fine latency-histogram buckets (rollout gates read p99 from these). */
  readonly fine = new Float64Array(HISTOGRAM_BUCKETS + 1);

  constructor(
    readonly model: string,
    readonly version: string,
  ) {}

  /** Counts one answered request that took `seconds`. */
  record(seconds: number): void {
    this.requests++;
    this.latencySum += seconds;
    this.lastUsedMs = Date.now();
    this.lastActiveMs = this.lastUsedMs;
    let i = 0;
    while (i < LATENCY_BUCKETS.length && seconds > LATENCY_BUCKETS[i]!) i++;
    this.buckets[i]!++;
    this.fine[histogramBucket(seconds)]!++;
  }

  /** Counts one request the version failed. */
  recordError(): void {
    this.errors++;
    this.lastActiveMs = Date.now();
  }

  /** Adds another version's counts to these (node-wide totals keep an unloaded version's counts). */
  add(other: VersionStats): void {
    this.requests += other.requests;
    this.errors += other.errors;
    this.latencySum += other.latencySum;
    for (let i = 0; i < this.buckets.length; i++) this.buckets[i]! += other.buckets[i]!;
  }

  /** The cumulative counters as published to etcd; `requests` there counts failed ones too. */
  counters(): VersionCounters {
    return {
      requests: this.requests + this.errors,
      errors: this.errors,
      latencySumSeconds: this.latencySum,
      latency: Array.from(this.fine),
    };
  }
}

type Sample = { value: number; labels: Record<string, string | number>; metricName?: string };

/** A prom-client metric whose samples are computed from plain-field counters at scrape time. */
class StatsMetric<S = VersionStats> {
  readonly aggregator = 'sum' as const;

  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: MetricType,
    private readonly stats: () => Iterable<S>,
    private readonly samples: (name: string, s: S) => Sample[],
  ) {}

  async get(): Promise<{ name: string; help: string; type: MetricType; aggregator: 'sum'; values: Sample[] }> {
    const values: Sample[] = [];
    for (const s of this.stats()) values.push(...this.samples(this.name, s));
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }
}

/** `switchyard_requests_total` by model and version. */
export function requestsMetric(stats: () => Iterable<VersionStats>): Metric {
  return new StatsMetric(
    'switchyard_requests_total',
    'Inference requests answered, by model and the version that answered.',
    'counter',
    stats,
    (_name, s) => [{ value: s.requests, labels: { model: s.model, version: s.version } }],
  ) as unknown as Metric;
}

/** `switchyard_request_duration_seconds` by model and version. */
export function latencyMetric(stats: () => Iterable<VersionStats>): Metric {
  return histogramMetric('switchyard_request_duration_seconds', 'Time from decoded request to encoded response, per model version.', stats, (s) => ({
    model: s.model,
    version: s.version,
  }));
}

/** `switchyard_node_requests_total`: every request the node's versions answered, however many versions. */
export function nodeRequestsMetric(total: () => VersionStats): Metric {
  return new StatsMetric(
    'switchyard_node_requests_total',
    'Inference requests answered by any version on this node (the per-version series cover only versions active lately).',
    'counter',
    () => [total()],
    (_name, s) => [{ value: s.requests, labels: {} }],
  ) as unknown as Metric;
}

/** `switchyard_node_request_duration_seconds`: the latency of every version on the node. */
export function nodeLatencyMetric(total: () => VersionStats): Metric {
  return histogramMetric('switchyard_node_request_duration_seconds', 'Time from decoded request to encoded response, over every version on this node.', () => [total()], () => ({}));
}

function histogramMetric(name: string, help: string, stats: () => Iterable<VersionStats>, labelsOf: (s: VersionStats) => Record<string, string>): Metric {
  return new StatsMetric(
    name,
    help,
    'histogram',
    stats,
    (name, s) => {
      const labels = labelsOf(s);
      const out: Sample[] = [];
      let cumulative = 0;
      LATENCY_BUCKETS.forEach((le, i) => {
        cumulative += s.buckets[i]!;
        out.push({ value: cumulative, labels: { ...labels, le }, metricName: `${name}_bucket` });
      });
      out.push({ value: s.requests, labels: { ...labels, le: '+Inf' }, metricName: `${name}_bucket` });
      out.push({ value: s.latencySum, labels, metricName: `${name}_sum` });
      out.push({ value: s.requests, labels, metricName: `${name}_count` });
      return out;
    },
  ) as unknown as Metric;
}

/** Requests of one model whose slot's version was not READY here, so another version answered. */
export class FallbackStats {
  count = 0;

  constructor(
    readonly model: string,
    /** The version the request's slot belongs to. */
    readonly intendedVersion: string,
  ) {}
}

/** `switchyard_route_fallbacks_total` by model and intended version. */
export function fallbacksMetric(stats: () => Iterable<FallbackStats>): Metric {
  return new StatsMetric<FallbackStats>(
    'switchyard_route_fallbacks_total',
    'Unversioned requests whose slot belongs to a weighted version that is not READY on this node, answered by a READY one instead; by model and the intended version.',
    'counter',
    stats,
    (_name, s) => [{ value: s.count, labels: { model: s.model, intended_version: s.intendedVersion } }],
  ) as unknown as Metric;
}
