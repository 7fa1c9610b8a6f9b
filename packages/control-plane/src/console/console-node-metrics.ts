/**
 * Request rate, error rate and p99 per model version, from the Prometheus
 * endpoints the nodes already serve (off their inference path): the console
 * scrapes them at most every few seconds while someone looks, and reports
 * the change between the last two scrapes.
 */

/** One version's figures between two scrapes, summed over every node. */
export interface VersionRates {
  model: string;
  version: string;
  /** Requests answered per second. */
  requestRate: number;
  /** Failed requests per second. */
  errorRate: number;
  /** Upper bound of the latency bucket holding the 99th percentile, in ms; null without requests. */
  p99Ms: number | null;
}

/** Counters of one node at one moment, by `model\u0000version`. */
interface NodeSample {
  requests: Map<string, number>;
  errors: Map<string, number>;
  /** Cumulative bucket counts by upper bound (seconds, Infinity last). */
  buckets: Map<string, Map<number, number>>;
}

interface Scrape {
  at: number;
  nodes: Map<string, NodeSample>;
}

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

function labels(text: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!text) return out;
  for (const m of text.matchAll(LABEL)) out[m[1]!] = m[2]!.replace(/\\(.)/g, '$1');
  return out;
}

function add(map: Map<string, number>, key: string, value: number): void {
  map.set(key, (map.get(key) ?? 0) + value);
}

/** The series the console needs out of a node's /metrics text. */
export function parseNodeMetrics(text: string): NodeSample {
  const sample: NodeSample = { requests: new Map(), errors: new Map(), buckets: new Map() };
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const m = LINE.exec(line);
    if (!m) continue;
    const name = m[1]!;
    if (name !== 'switchyard_requests_total' && name !== 'switchyard_request_errors_total' && name !== 'switchyard_request_duration_seconds_bucket') continue;
    const l = labels(m[2]);
    const value = Number(m[3]);
    if (l.model === undefined || l.version === undefined || !Number.isFinite(value)) continue;
    const key = `${l.model}\u0000${l.version}`;
    if (name === 'switchyard_requests_total') add(sample.requests, key, value);
    else if (name === 'switchyard_request_errors_total') add(sample.errors, key, value);
    else {
      const le = l.le === '+Inf' ? Infinity : Number(l.le);
      let buckets = sample.buckets.get(key);
      if (!buckets) sample.buckets.set(key, (buckets = new Map()));
      buckets.set(le, (buckets.get(le) ?? 0) + value);
    }
  }
  return sample;
}

/** A counter's increase; a node that restarted counts from zero again. */
function increase(now: number | undefined, before: number | undefined): number {
  if (now === undefined) return 0;
  if (before === undefined || now < before) return now;
  return now - before;
}

/** Rates between two scrapes, summed over the nodes present in the later one. */
export function ratesBetween(before: Scrape, after: Scrape): VersionRates[] {
  const seconds = Math.max((after.at - before.at) / 1000, 0.001);
  const totals = new Map<string, { requests: number; errors: number; buckets: Map<number, number> }>();
  for (const [node, now] of after.nodes) {
    const prev = before.nodes.get(node);
    // A node new since the last scrape has no starting point yet.
    if (!prev) continue;
    const keys = new Set([...now.requests.keys(), ...now.errors.keys()]);
    for (const key of keys) {
      let t = totals.get(key);
      if (!t) totals.set(key, (t = { requests: 0, errors: 0, buckets: new Map() }));
      t.requests += increase(now.requests.get(key), prev.requests.get(key));
      t.errors += increase(now.errors.get(key), prev.errors.get(key));
      for (const [le, count] of now.buckets.get(key) ?? []) {
        t.buckets.set(le, (t.buckets.get(le) ?? 0) + increase(count, prev.buckets.get(key)?.get(le)));
      }
    }
  }
  return [...totals].map(([key, t]) => {
    const [model, version] = key.split('\u0000') as [string, string];
    return { model, version, requestRate: t.requests / seconds, errorRate: t.errors / seconds, p99Ms: p99(t.buckets) };
  });
}

function p99(buckets: Map<number, number>): number | null {
  const sorted = [...buckets].sort((a, b) => a[0] - b[0]);
  const total = sorted.at(-1)?.[1] ?? 0;
  if (total <= 0) return null;
  for (const [le, count] of sorted) {
    if (count >= total * 0.99) return Number.isFinite(le) ? le * 1000 : null;
  }
  return null;
}

/** Options for {@link NodeMetricsSampler}. */
export interface NodeMetricsSamplerOptions {
  /** A newer scrape is not taken before this. @default 2000 */
  minIntervalMs?: number;
  /** Per-node limit on one scrape. @default 2000 */
  timeoutMs?: number;
  /** @default Date.now */
  now?: () => number;
}

/** Scrapes nodes on demand and keeps the last two scrapes. */
export class NodeMetricsSampler {
  #previous: Scrape | undefined;
  #latest: Scrape | undefined;
  #inFlight: Promise<void> | undefined;
  readonly #minIntervalMs: number;
  readonly #timeoutMs: number;
  readonly #now: () => number;

  constructor(options: NodeMetricsSamplerOptions = {}) {
    this.#minIntervalMs = options.minIntervalMs ?? 2000;
    this.#timeoutMs = options.timeoutMs ?? 2000;
    this.#now = options.now ?? Date.now;
  }

  /**
   * Rates per version between the last two scrapes of these nodes (by node
   * id → metrics host:port), scraping again when the last one is old enough.
   */
  async rates(nodes: Map<string, string>): Promise<{ at: string; versions: VersionRates[] }> {
    if (!this.#latest || this.#now() - this.#latest.at >= this.#minIntervalMs) {
      this.#inFlight ??= this.#scrape(nodes).finally(() => (this.#inFlight = undefined));
      await this.#inFlight;
    }
    const at = new Date(this.#latest?.at ?? this.#now()).toISOString();
    if (!this.#previous || !this.#latest) return { at, versions: [] };
    return { at, versions: ratesBetween(this.#previous, this.#latest) };
  }

  async #scrape(nodes: Map<string, string>): Promise<void> {
    const at = this.#now();
    const results = await Promise.all(
      [...nodes].map(async ([id, address]): Promise<[string, NodeSample] | undefined> => {
        try {
          const response = await fetch(`http://${address}/metrics`, { signal: AbortSignal.timeout(this.#timeoutMs) });
          if (!response.ok) return undefined;
          return [id, parseNodeMetrics(await response.text())];
        } catch {
          return undefined; // a node gone or slow is left out of this scrape
        }
      }),
    );
    this.#previous = this.#latest;
    this.#latest = { at, nodes: new Map(results.filter((r) => r !== undefined)) };
  }
}
