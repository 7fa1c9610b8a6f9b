import type { VersionRecord } from '@switchyard/core';
import type { LoadedVersion } from './loaded-version.js';
import { admit, estimateCost, type Admission, type HeldVersion, type MeasuredCost } from './memory-admission.js';

/** Most measured costs kept for estimates (one per artifact). */
const MAX_MEASURED = 256;

/** How the ledger sees each held version's placement. */
export interface PlacementOf {
  /** Named by its placement record for this node (and not displaced). */
  placed(key: string): boolean;
  /** Its model is kept always resident. */
  alwaysResident(key: string): boolean;
}

/**
 * Memory a load holds beyond what its version keeps: the model file read
 * whole twice, once for the graph check before the load (a buffer held
 * until the garbage collector frees it) and once by onnxruntime while it
 * builds the session. Reserved while the load runs, so the budget bounds the
 * resident set's peak and not only what stays (measured with the 13.6 MB
 * MLP: one artifact reserved left peaks 9–20 MiB over the budget).
 */
export function transientBytes(record: VersionRecord): number {
  return 2 * record.artifact.size;
}

/** Ledgers measuring against the resident set in this process: with more than one, nobody's growth is its own. */
let rssAccounts = 0;

/**
 * The node's account of model memory against its budget: what each loaded
 * version measured, what loads in progress are expected to take, and what
 * versions being released still hold until their session is gone. The
 * decision itself is {@link admit}; this keeps the state it decides on.
 */
export class MemoryLedger {
  /** Estimated bytes of loads in progress, by `model/version`. */
  private readonly loading = new Map<string, { bytes: number; transient: number }>();
  /** Bytes of versions whose session is being released (still resident), by a token per release. */
  private readonly releasing = new Map<symbol, number>();
  /** Measured cost by artifact sha256: a version loaded again is expected to cost what it did. */
  private readonly measured = new Map<string, MeasuredCost>();
  /** Versions unloaded to make room, since start. */
  evictions = 0;
  /** Loads refused for want of room, since start. */
  refusals = 0;
  /**
   * Resident growth of the process (and its session processes) beyond what
   * the versions account for, at the last {@link sample}: counted against
   * the budget like a version that cannot be evicted, so the process's real
   * growth above its idle baseline is what the budget bounds.
   */
  unaccountedBytes = 0;
  /** The resident set with nothing loaded (after onnxruntime's first session); undefined until taken, or when the correction is off. */
  private baselineRss: number | undefined;
  private counted = false;

  constructor(readonly budgetBytes: number) {}

  /**
   * Takes the resident set of the idle node as the baseline the budget is
   * counted above. Call once, with nothing loaded. Off (nothing unaccounted
   * is ever counted) while another node in this process measures too: their
   * growths cannot be told apart (tests and in-process benches run several).
   */
  takeBaseline(rssBytes: number): void {
    if (this.counted) return;
    this.counted = true;
    rssAccounts++;
    this.baselineRss = rssBytes;
  }

  /** Stops measuring against the resident set (the node stops). */
  dropBaseline(): void {
    if (!this.counted) return;
    this.counted = false;
    rssAccounts--;
    this.baselineRss = undefined;
    this.unaccountedBytes = 0;
  }

  /** The idle baseline in force, undefined when the correction is off. */
  get baselineBytes(): number | undefined {
    return rssAccounts === 1 ? this.baselineRss : undefined;
  }

  /**
   * Compares the resident set (`rssBytes`: the node's own plus its session
   * processes') with the baseline and what is accounted, and keeps the
   * difference as {@link unaccountedBytes}. Only when the figure means
   * something: no load in progress (its growth is not yet attributed) and
   * no session being released (its memory is on its way back); otherwise
   * the last figure stays. Returns whether it changed.
   */
  sample(loaded: ReadonlyMap<string, LoadedVersion>, rssBytes: number): boolean {
    const baseline = this.baselineBytes;
    if (baseline === undefined) {
      const changed = this.unaccountedBytes !== 0;
      this.unaccountedBytes = 0;
      return changed;
    }
    if (this.loading.size > 0 || this.releasing.size > 0) return false;
    const next = Math.max(0, rssBytes - baseline - this.usedBytes(loaded));
    const changed = next !== this.unaccountedBytes;
    this.unaccountedBytes = next;
    return changed;
  }

  /** What a version is expected to cost here: its own last measurement, else an estimate from similar ones. */
  estimate(record: VersionRecord): number {
    const known = this.measured.get(record.artifact.sha256);
    return known ? known.memoryBytes : estimateCost(record.artifact.size, [...this.measured.values()]);
  }

  /**
   * Remembers a load's measured cost. For an artifact measured before, the
   * least of the measurements: other work in the process only ever adds to
   * the resident-memory growth seen across a load.
   */
  recordMeasured(record: VersionRecord, memoryBytes: number): void {
    const before = this.measured.get(record.artifact.sha256)?.memoryBytes ?? Number.POSITIVE_INFINITY;
    this.measured.delete(record.artifact.sha256);
    this.measured.set(record.artifact.sha256, { artifactBytes: record.artifact.size, memoryBytes: Math.min(before, memoryBytes) });
    if (this.measured.size > MAX_MEASURED) this.measured.delete(this.measured.keys().next().value!);
  }

  /**
   * Whether `record` may load now beside `loaded`, and which idle versions
   * must go first (memory-admission.ts). `mayDisplace`: a request needs it,
   * so idle placed copies may go once no idle cached version is left.
   */
  decide(record: VersionRecord, loaded: ReadonlyMap<string, LoadedVersion>, placement: PlacementOf, mayDisplace: boolean): Admission {
    return admit(this.held(loaded, placement), this.estimate(record), {
      budgetBytes: this.budgetBytes,
      unaccountedBytes: this.unaccountedBytes,
      mayDisplace,
      transientBytes: transientBytes(record),
    });
  }

  /**
   * What to evict when the account (with what is unaccounted) is over the
   * budget: a load may measure more than it was admitted on, and the process
   * may have grown. Undefined when within it.
   */
  overBudget(loaded: ReadonlyMap<string, LoadedVersion>, placement: PlacementOf, mayDisplace: boolean): Admission | undefined {
    // Sessions being released are already on their way out: evicting more for them would only empty the cache.
    let releasing = 0;
    for (const b of this.releasing.values()) releasing += b;
    if (this.usedBytes(loaded) - releasing + this.unaccountedBytes <= this.budgetBytes) return undefined;
    return admit(this.held(loaded, placement, false), 0, { budgetBytes: this.budgetBytes, unaccountedBytes: this.unaccountedBytes, mayDisplace });
  }

  /** Reserves a load's estimate, and apart from it the transient it holds only while it runs, until {@link loadEnded}. */
  loadStarted(key: string, bytes: number, transient = 0): void {
    this.loading.set(key, { bytes, transient });
  }

  /** {@link loadStarted} with `record`'s estimate and transient (see {@link transientBytes}), never more than the whole budget together. */
  loadStartedFor(key: string, record: VersionRecord): void {
    const bytes = Math.min(this.budgetBytes, this.estimate(record));
    const withTransient = Math.min(this.budgetBytes, bytes + transientBytes(record));
    this.loadStarted(key, bytes, withTransient - bytes);
  }

  loadEnded(key: string): void {
    this.loading.delete(key);
  }

  /** Keeps `bytes` counted while a session is released; call the returned function once it is gone. */
  releaseStarted(bytes: number): () => void {
    const token = Symbol('release');
    this.releasing.set(token, bytes);
    return () => this.releasing.delete(token);
  }

  /** Bytes counted against the budget now: loaded versions, loads in progress, releases not finished. */
  usedBytes(loaded: ReadonlyMap<string, LoadedVersion>): number {
    let used = 0;
    for (const v of loaded.values()) used += v.memoryBytes;
    for (const b of this.loading.values()) used += b.bytes + b.transient;
    for (const b of this.releasing.values()) used += b;
    return used;
  }

  private held(loaded: ReadonlyMap<string, LoadedVersion>, placement: PlacementOf, withReleasing = true): HeldVersion[] {
    const held: HeldVersion[] = [];
    for (const [key, v] of loaded) {
      held.push({
        key,
        bytes: v.memoryBytes,
        placed: placement.placed(key),
        alwaysResident: placement.alwaysResident(key),
        loading: false,
        inFlight: v.inFlight,
        lastUsedMs: Math.max(v.stats.lastUsedMs, v.loadedAtMs),
      });
    }
    for (const [key, b] of this.loading) {
      held.push({ key, bytes: b.bytes + b.transient, transientBytes: b.transient, placed: placement.placed(key), loading: true, inFlight: 0, lastUsedMs: Number.MAX_SAFE_INTEGER });
    }
    let i = 0;
    if (withReleasing) for (const bytes of this.releasing.values()) held.push({ key: `(releasing ${i++})`, bytes, placed: false, loading: true, inFlight: 0, lastUsedMs: 0 });
    return held;
  }
}
