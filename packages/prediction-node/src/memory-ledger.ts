import type { VersionRecord } from '@switchyard/core';
import type { LoadedVersion } from './loaded-version.js';
import { admit, estimateCost, type Admission, type HeldVersion, type MeasuredCost } from './memory-admission.js';

/** Most measured costs kept for estimates (one per artifact). */
const MAX_MEASURED = 256;

/**
 * The node's account of model memory against its budget: what each loaded
 * version measured, what loads in progress are expected to take, and what
 * versions being released still hold until their session is gone. The
 * decision itself is {@link admit}; this keeps the state it decides on.
 */
export class MemoryLedger {
  /** Estimated bytes of loads in progress, by `model/version`. */
  private readonly loading = new Map<string, number>();
  /** Bytes of versions whose session is being released (still resident), by a token per release. */
  private readonly releasing = new Map<symbol, number>();
  /** Measured cost by artifact sha256: a version loaded again is expected to cost what it did. */
  private readonly measured = new Map<string, MeasuredCost>();
  /** Versions unloaded to make room, since start. */
  evictions = 0;
  /** Loads refused for want of room, since start. */
  refusals = 0;

  constructor(readonly budgetBytes: number) {}

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
   * loaded on demand must go first. `placed` says which keys placement names
   * for this node.
   */
  decide(record: VersionRecord, loaded: ReadonlyMap<string, LoadedVersion>, placed: (key: string) => boolean): Admission {
    return admit(this.held(loaded, placed), this.estimate(record), this.budgetBytes);
  }

  /**
   * What to evict when the account is over the budget: a load may measure
   * more than it was admitted on. Undefined when within it.
   */
  overBudget(loaded: ReadonlyMap<string, LoadedVersion>, placed: (key: string) => boolean): Admission | undefined {
    // Sessions being released are already on their way out: evicting more for them would only empty the cache.
    let releasing = 0;
    for (const b of this.releasing.values()) releasing += b;
    if (this.usedBytes(loaded) - releasing <= this.budgetBytes) return undefined;
    return admit(this.held(loaded, placed, false), 0, this.budgetBytes);
  }

  /** Reserves a load's estimate until {@link loadEnded}. */
  loadStarted(key: string, bytes: number): void {
    this.loading.set(key, bytes);
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
    for (const b of this.loading.values()) used += b;
    for (const b of this.releasing.values()) used += b;
    return used;
  }

  private held(loaded: ReadonlyMap<string, LoadedVersion>, placed: (key: string) => boolean, withReleasing = true): HeldVersion[] {
    const held: HeldVersion[] = [];
    for (const [key, v] of loaded) {
      held.push({ key, bytes: v.memoryBytes, placed: placed(key), loading: false, inFlight: v.inFlight, lastUsedMs: Math.max(v.stats.lastUsedMs, v.loadedAtMs) });
    }
    for (const [key, bytes] of this.loading) held.push({ key, bytes, placed: placed(key), loading: true, inFlight: 0, lastUsedMs: Number.MAX_SAFE_INTEGER });
    let i = 0;
    if (withReleasing) for (const bytes of this.releasing.values()) held.push({ key: `(releasing ${i++})`, bytes, placed: false, loading: true, inFlight: 0, lastUsedMs: 0 });
    return held;
  }
}
