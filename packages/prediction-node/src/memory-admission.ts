/** One version a node holds (or is loading), as the admission decision sees it. */
export interface HeldVersion {
  /** `model/version`. */
  readonly key: string;
  /** Measured cost when loaded; the estimate while loading. */
  readonly bytes: number;
  /** Named by its placement record for this node: the control plane's copy, displaced only for a load a request needs. */
  readonly placed: boolean;
  /** Its model is kept always resident (`placement.alwaysResident`): never displaced. @default false */
  readonly alwaysResident?: boolean;
  /** Of `bytes`, what a load in progress holds only until it ends (its transient, see AdmissionContext.transientBytes). @default 0 */
  readonly transientBytes?: number;
  /** Still loading: its memory is not yet known, and it cannot be unloaded. */
  readonly loading: boolean;
  /** Requests running on it now: never unloaded under them. */
  readonly inFlight: number;
  /** Wall-clock ms of its last request (its load, if none yet). */
  readonly lastUsedMs: number;
}

/** What a node does about one load, given its budget. */
export type Admission =
  | { readonly kind: 'fits' }
  /**
   * Unload these (least recently used first within each tier) before the
   * load starts; `displaced` are those of them placed here (the second tier).
   */
  | { readonly kind: 'evict'; readonly victims: readonly string[]; readonly freedBytes: number; readonly displaced: readonly string[] }
  | { readonly kind: 'refuse'; readonly reason: string };

/** What {@link admit} decides on besides the versions held. */
export interface AdmissionContext {
  budgetBytes: number;
  /**
   * Resident growth of the process that no version accounts for (measured
   * against its idle baseline, memory-ledger.ts): counted as held, never evictable. @default 0
   */
  unaccountedBytes?: number;
  /**
   * The load is for a version a request needs: idle placed copies (not
   * always resident) may be displaced once no idle cached version is left. A
   * load the placement asked for never displaces another placed copy: the
   * placer planned both. @default false
   */
  mayDisplace?: boolean;
  /**
   * What the load holds beyond `wantBytes` until it ends (the model file
   * read whole while its session is built): room is made for it too, as far
   * as the budget goes. @default 0
   */
  transientBytes?: number;
  /** Wall-clock now (ms), to tell which versions are idle long enough to go for a transient. @default Date.now() */
  nowMs?: number;
}

/**
 * Only versions unused for this long are unloaded to make room for a load's
 * transient. The transient lasts one load; unloading a version in active use
 * for it makes that version the next cold load, whose transient unloads
 * another: with a hot set filling a small budget, tail loads evicted hot
 * versions and the hot set's p99 went from ×2 to ×3–4.4 of all-resident
 * (bench scenario (m)). Longer windows leave the transient uncovered when
 * every version is cycled through (density-rss: 1 s let RSS pass budget +
 * 16 MiB); a quarter second tells a version serving a stream of requests
 * from one merely used lately. Room for the version itself may take any idle one.
 */
export const TRANSIENT_IDLE_MS = 250;

const mib = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

const lru = (a: HeldVersion, b: HeldVersion): number => a.lastUsedMs - b.lastUsedMs || (a.key < b.key ? -1 : 1);
const idle = (h: HeldVersion): boolean => !h.loading && h.inFlight === 0;

/**
 * Whether a version of `wantBytes` may load on a node holding `held` within
 * its budget, and what must go first, in two tiers: idle versions loaded on
 * demand (not placed here), least recently used first; then, for a load a
 * request needs ({@link AdmissionContext.mayDisplace}), idle placed copies
 * whose model is not always resident, least recently used first. Nothing
 * loading or with a request in flight ever goes, and only as many as the
 * load needs. When even all of those would not make room the load is
 * refused, naming the sizes.
 */
export function admit(held: readonly HeldVersion[], wantBytes: number, context: AdmissionContext): Admission {
  const { budgetBytes } = context;
  const unaccounted = context.unaccountedBytes ?? 0;
  if (wantBytes > budgetBytes) {
    return { kind: 'refuse', reason: `it needs ${mib(wantBytes)}, more than this node's whole memory budget of ${mib(budgetBytes)}` };
  }
  // The transient part needs room too, but never refuses a version that fits once loaded (see below).
  const need = Math.min(budgetBytes, wantBytes + (context.transientBytes ?? 0));
  let used = unaccounted;
  // Other loads' transients end with them: like this load's own, they unload only versions not in active use.
  let transientHeld = 0;
  for (const h of held) {
    used += h.bytes;
    transientHeld += h.transientBytes ?? 0;
  }
  if (used + need <= budgetBytes) return { kind: 'fits' };
  const fitsItself = (freedBytes: number): boolean => used - transientHeld - freedBytes + wantBytes <= budgetBytes;
  const cached = held.filter((h) => !h.placed && idle(h)).sort(lru);
  const placed = context.mayDisplace ? held.filter((h) => h.placed && !h.alwaysResident && idle(h)).sort(lru) : [];
  const victims: string[] = [];
  const displaced: string[] = [];
  let freed = 0;
  const idleSince = (context.nowMs ?? Date.now()) - TRANSIENT_IDLE_MS;
  for (const h of [...cached, ...placed]) {
    if (used - freed + need <= budgetBytes) break;
    // The version fits already; only transients are short: not at the cost of a version in use.
    if (fitsItself(freed) && h.lastUsedMs > idleSince) continue;
    victims.push(h.key);
    if (h.placed) displaced.push(h.key);
    freed += h.bytes;
  }
  if (used - freed + need <= budgetBytes) return { kind: 'evict', victims, freedBytes: freed, displaced };
  // Short of room for transients only: load with what could be freed (the stated slack covers one load's transient).
  if (fitsItself(freed)) return victims.length === 0 ? { kind: 'fits' } : { kind: 'evict', victims, freedBytes: freed, displaced };
  const pinned = held.filter((h) => !victims.includes(h.key));
  let pinnedBytes = 0;
  for (const h of pinned) pinnedBytes += h.bytes;
  const why = context.mayDisplace ? 'always resident, loading or serving requests' : 'placed here, loading or serving requests';
  return {
    kind: 'refuse',
    reason:
      `it needs ${mib(wantBytes)}${need > wantBytes ? ` (${mib(need)} while it loads)` : ''} and this node's budget is ${mib(budgetBytes)}, ${mib(used)} held, ` +
      `${mib(pinnedBytes)} of it by ${pinned.length} version(s) ${why}, which are not evicted` +
      (unaccounted > 0 ? `, and ${mib(unaccounted)} by the process's own growth` : ''),
  };
}

/** A measured version's cost relative to its artifact, for estimates of versions not loaded yet. */
export interface MeasuredCost {
  readonly artifactBytes: number;
  readonly memoryBytes: number;
}

/** Resident-memory growth per artifact byte assumed before anything was measured (onnxruntime holds the weights once, plus its arena and the graph). */
export const DEFAULT_COST_RATIO = 1.5;
/** The least a session is assumed to cost, whatever its artifact (the session's own structures, measured ≈ 0.3–1 MB for tiny graphs). */
export const MIN_VERSION_BYTES = 1024 * 1024;

/**
 * A version's expected cost before its first load on this node: its
 * artifact's size times the median ratio of what similar versions (artifacts
 * within a factor of 4 in size) measured here, else {@link DEFAULT_COST_RATIO}; never below {@link MIN_VERSION_BYTES}.
 */
export function estimateCost(artifactBytes: number, measured: readonly MeasuredCost[]): number {
  // Only similar sizes: a tiny graph's fixed cost per session would make a large one look enormous.
  const similar = measured.filter((m) => m.artifactBytes > 0 && m.artifactBytes * 4 >= artifactBytes && m.artifactBytes <= artifactBytes * 4);
  let ratio = DEFAULT_COST_RATIO;
  if (similar.length > 0) {
    // The median: one measurement inflated by other work in the process must not make every similar version look too big
    // to load; an estimate below the truth is corrected by an eviction right after the load.
    const ratios = similar.map((m) => m.memoryBytes / m.artifactBytes).sort((a, b) => a - b);
    ratio = ratios[Math.floor(ratios.length / 2)]!;
  }
  return Math.max(MIN_VERSION_BYTES, Math.round(artifactBytes * ratio));
}
