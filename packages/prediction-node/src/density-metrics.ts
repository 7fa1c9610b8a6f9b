import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** Prometheus metrics of model density (issue #16): memory against the budget, evictions, cold starts, forwards. Label sets are bounded. */
export interface DensityMetrics {
  readonly evictions: Counter;
  /** Placed copies unloaded to make room for a version a request needed. */
  readonly displacements: Counter;
  readonly refusals: Counter;
  /** Requests that waited for a version to load here. */
  readonly coldRequests: Counter;
  /** How long those waited (the cold-start latency a caller sees). */
  readonly coldWaitSeconds: Histogram;
  readonly coldFailures: Counter<'code'>;
  /** Requests sent on to the node holding their version, by outcome: ok, error (the peer's answer), unreachable (loaded here instead). */
  readonly forwards: Counter<'outcome'>;
  /** Shadow copies not mirrored because the shadow version was not loaded here (its load was started). */
  readonly shadowsNotLoaded: Counter;
}

/** Registers the density metrics; `budget` and `used` are read at scrape time. */
export function densityMetrics(registry: Registry, memory: { budget: () => number; used: () => number; unaccounted: () => number }): DensityMetrics {
  const registers = [registry];
  new Gauge({
    name: 'switchyard_memory_budget_bytes',
    help: 'Bytes of model memory this node may hold (--memory-budget, or derived from its cgroup or machine).',
    registers,
    collect() {
      this.set(memory.budget());
    },
  });
  new Gauge({
    name: 'switchyard_memory_used_bytes',
    help: 'Bytes of model memory held: loaded versions as measured, loads in progress as estimated, sessions being released.',
    registers,
    collect() {
      this.set(memory.used());
    },
  });
  new Gauge({
    name: 'switchyard_memory_unaccounted_bytes',
    help: 'Resident growth of the node above its idle baseline that no loaded version accounts for; counted against the budget with the used bytes.',
    registers,
    collect() {
      this.set(memory.unaccounted());
    },
  });
  return {
    displacements: new Counter({ name: 'switchyard_displacements_total', help: 'Placed model versions unloaded to make room for a version a request needed (the placer moves them).', registers }),
    evictions: new Counter({ name: 'switchyard_evictions_total', help: 'Cached model versions unloaded to make room for another.', registers }),
    refusals: new Counter({ name: 'switchyard_load_refusals_total', help: 'Loads refused because the version did not fit the memory budget.', registers }),
    coldRequests: new Counter({ name: 'switchyard_cold_requests_total', help: 'Requests that waited for their version to load on this node (no node held it).', registers }),
    coldWaitSeconds: new Histogram({
      name: 'switchyard_cold_wait_seconds',
      help: 'How long requests waited for a cold version to load here.',
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    }),
    coldFailures: new Counter({ name: 'switchyard_cold_request_failures_total', help: 'Requests whose cold load failed, was refused or outlived their deadline, by gRPC code.', labelNames: ['code'], registers }),
    forwards: new Counter({ name: 'switchyard_forwards_total', help: 'Requests forwarded to the node holding their version, by outcome.', labelNames: ['outcome'], registers }),
    shadowsNotLoaded: new Counter({ name: 'switchyard_shadow_versions_not_loaded_total', help: 'Shadow copies skipped because the shadow version was not loaded here (its load was started).', registers }),
  };
}
