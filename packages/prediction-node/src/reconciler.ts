import pLimit, { type LimitFunction } from 'p-limit';
import {
  failedPrecondition,
  notFound,
  resolveRuntime,
  resolveSlots,
  runtimeKey,
  unavailable,
  type Logger,
  type ResolvedRuntime,
  type VersionRecord,
  type VersionStatusRecord,
  type LoadState,
  type RouteRecord,
} from '@switchyard/core';
import type { LoadedVersion } from './loaded-version.js';
import type { MemoryLedger, PlacementOf } from './memory-ledger.js';
import { PassPacer } from './pass-pacer.js';
import { ModelRoute, EMPTY_TABLE, type RouteEntry, type RoutingTable } from './routing-table.js';
import { versionKey, type TargetStateView } from './target-state.js';

/** Loads a version; the reconciler does not care how. */
export interface VersionLoader {
  /** @param runtime the settings in force (issue #17); the loader resolves the version's own when absent. */
  load(record: VersionRecord, runtime?: ResolvedRuntime): Promise<LoadedVersion>;
}

/** Where the reconciler reports each version's state (etcd status keys, in production). */
export interface StatusSink {
  report(status: Omit<VersionStatusRecord, 'nodeId' | 'updatedAt'>): void;
  clear(model: string, version: string): void;
}

/** Options for {@link Reconciler}. */
export interface ReconcilerOptions {
  /** Where the wanted state is read; {@link Reconciler.reconcile} is called when it changes. */
  target: TargetStateView;
  loader: VersionLoader;
  status: StatusSink;
  logger: Logger;
  /** Called with every new routing table. */
  onTable?: (table: RoutingTable) => void;
  /** Loads running at once; each holds a model's bytes twice while it loads. @default 2 */
  loadConcurrency?: number;
  /** First retry delay after a failed load, doubled per failure. @default 1000 */
  retryMinMs?: number;
  /** @default 60000 */
  retryMaxMs?: number;
  now?: () => number;
  /**
   * Model density (issue #16, docs/placement.md): with this node's id, the
   * node loads ahead of requests only the versions whose placement names it,
   * plus those {@link Reconciler.demand}ed (loaded on a request, cached,
   * evicted least recently used first). Without it, every routed version is
   * loaded, as before placements.
   */
  density?: DensityOptions;
}

/** The node's half of model density: who it is, its memory account, and whom to tell. */
export interface DensityOptions {
  nodeId: string;
  memory: MemoryLedger;
  /** A cached version was unloaded to make room for `forKey`. */
  onEvicted?: (evicted: LoadedVersion, forKey: string) => void;
  /** A load was refused for want of room. */
  onRefused?: (record: VersionRecord, reason: string) => void;
  /** A placed copy was unloaded to make room for a version a request needed (the node's memory record lists it). */
  onDisplaced?: (key: string, forKey: string) => void;
  /** Whether another node holds `model/version` READY (requests can be forwarded there). @default never */
  heldElsewhere?: (key: string) => boolean;
}

interface Failure {
  attempts: number;
  error: string;
  retryAt: number;
  sha256: string;
}

/**
 * Makes the node serve the target state. Every version a route references is
 * loaded; when a model's new versions are not ready yet (still loading, or
 * failed) the model keeps the split it was served with, so a route change
 * never leaves a gap; versions nothing references any more are unloaded after
 * their in-flight requests finish.
 *
 * A pass is synchronous and starts loads and unloads in the background, so
 * passes never interleave; every load that ends triggers another pass.
 */
export class Reconciler {
  private readonly options: Required<Omit<ReconcilerOptions, 'onTable' | 'density'>> & Pick<ReconcilerOptions, 'onTable'>;
  private readonly limit: LimitFunction;
  private readonly loaded = new Map<string, LoadedVersion>();
  private readonly loading = new Set<string>();
  private readonly failures = new Map<string, Failure>();
  /**
   * The route built for each model and what it was built from. A pass reuses
   * it while the route record (the same object until its key changes in etcd)
   * and the loaded versions it picks from are the same, so a change of one
   * model costs a pass that one model's routing table, not every model's.
   */
  private readonly builtRoutes = new Map<string, { record: RouteRecord; route: ModelRoute }>();
  private readonly retryTimers = new Set<NodeJS.Timeout>();
  /** Loads that ended and wait for the next pass to take them in. */
  private readonly finished: { key: string; record: VersionRecord; loaded: LoadedVersion; attempts: number; runtime: ResolvedRuntime }[] = [];
  /** Passes after loads that ended, shared by loads ending close together. */
  private readonly pacer = new PassPacer(() => this.pass());
  private routingTable: RoutingTable = EMPTY_TABLE;
  private stopped = false;
  private settledWaiters: Array<{ resolve: () => void; reject: (err: Error) => void }> = [];
  /** Versions loaded because a request (or a shadow) asked for them, not placement: the cache evictions choose from. */
  private readonly demanded = new Set<string>();
  /** One promise per version being loaded on demand: many requests for a cold version share one load. */
  private readonly demands = new Map<string, { promise: Promise<LoadedVersion>; resolve: (v: LoadedVersion) => void; reject: (err: Error) => void }>();
  /**
   * Placed copies unloaded to make room for a version a request needed:
   * not loaded again while their placement still names this node (the
   * placer moves them, seeing them in the node's memory record), forgotten
   * once it does not, or when a request loads one again.
   */
  private readonly displacedKeys = new Set<string>();

  private readonly density: DensityOptions | undefined;

  constructor(options: ReconcilerOptions) {
    const { density, ...rest } = options;
    this.density = density;
    this.options = { loadConcurrency: 2, retryMinMs: 1000, retryMaxMs: 60_000, now: Date.now, ...rest };
    this.limit = pLimit(this.options.loadConcurrency);
  }

  /** What requests are served with right now. */
  get table(): RoutingTable {
    return this.routingTable;
  }

  /** Acts on the target state as it is now; call it whenever it changes. */
  reconcile(): void {
    this.pass();
  }

  /** True once a target state has been read and every version it wants is loaded or has failed at least once. */
  isSettled(): boolean {
    if (!this.options.target.current()) return false;
    for (const key of this.desired().keys()) {
      if (!this.loaded.has(key) && !this.failures.has(key)) return false;
    }
    return true;
  }

  /**
   * Resolves when a pass, or a load that ended, leaves the current target
   * state {@link isSettled}: the node's readiness waits on this instead of
   * asking again and again. Rejects with FAILED_PRECONDITION if the reconciler
   * stops first.
   */
  whenSettled(): Promise<void> {
    if (this.stopped) return Promise.reject(failedPrecondition('the reconciler has stopped'));
    if (this.isSettled()) return Promise.resolve();
    return new Promise((resolve, reject) => this.settledWaiters.push({ resolve, reject }));
  }

  /**
   * Loads a routed version on this node because a request needs it (issue
   * #16), or finds it loaded or loading; every caller for one version shares
   * one load. Rejects with NOT_FOUND when the version is not routed, and with
   * UNAVAILABLE when its load failed or was refused for want of memory (the
   * reason is in the message; another node may have room).
   */
  demand(model: string, version: string): Promise<LoadedVersion> {
    const key = versionKey(model, version);
    const loaded = this.loaded.get(key);
    if (loaded && !loaded.closed) return Promise.resolve(loaded);
    const pending = this.demands.get(key);
    if (pending) return pending.promise;
    if (this.stopped) return Promise.reject(unavailable('the node is stopping'));
    const record = this.routable().get(key);
    if (!record) return Promise.reject(notFound(`version '${version}' of model '${model}' is not routed; check its route with 'switchyard status ${model}'`));
    const failure = this.failures.get(key);
    if (failure && failure.sha256 === record.artifact.sha256 && failure.retryAt > this.options.now() && !this.loading.has(key)) {
      return Promise.reject(unavailable(`model '${model}' version '${version}' failed to load on this node (${failure.error}); retrying later`));
    }
    let resolve!: (v: LoadedVersion) => void;
    let reject!: (err: Error) => void;
    const promise = new Promise<LoadedVersion>((res, rej) => ((resolve = res), (reject = rej)));
    // Nobody may be listening (a shadow's warm-up): an unobserved failure must not crash the process.
    promise.catch(() => undefined);
    this.demands.set(key, { promise, resolve, reject });
    this.demanded.add(key);
    this.pass();
    return promise;
  }

  /** Whether placement names this node for the version (so it is never evicted as a cached one). */
  isPlacedHere(key: string): boolean {
    const density = this.density;
    if (!density) return true;
    return this.options.target.current()?.placements?.get(key)?.copies.some((c) => c.nodeId === density.nodeId) ?? false;
  }

  /** Placed here and not displaced: a copy this node keeps loaded ahead of requests. */
  private placedHere(key: string): boolean {
    return this.isPlacedHere(key) && !this.displacedKeys.has(key);
  }

  private alwaysResident(key: string): boolean {
    return this.options.target.current()?.alwaysResidentModels?.has(splitKey(key)[0]) ?? false;
  }

  /** Placed copies this node unloaded for requests' versions, while their placement still names it (NodeMemoryRecord.displaced). */
  displaced(): string[] {
    return [...this.displacedKeys].sort();
  }

  /** Bytes of model memory held or reserved now (loaded, loading, being released). */
  memoryUsedBytes(): number {
    return this.density?.memory.usedBytes(this.loaded) ?? 0;
  }

  /**
   * Measures the resident set against the budget's idle baseline
   * (MemoryLedger.sample): the node's own, `rssBytes`, plus its versions'
   * session processes. Called at quiet moments (after a heap trim, on the
   * memory record's timer), never per request.
   */
  sampleMemory(rssBytes: number): void {
    const density = this.density;
    if (!density) return;
    let total = rssBytes;
    for (const v of this.loaded.values()) total += v.processRssBytes();
    density.memory.sample(this.loaded, total);
  }

  /** Stops acting and frees every session, after their in-flight requests. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const waiter of this.settledWaiters.splice(0)) waiter.reject(failedPrecondition('the reconciler has stopped'));
    for (const timer of this.retryTimers) clearTimeout(timer);
    this.pacer.cancel();
    for (const { loaded } of this.finished.splice(0)) void loaded.close();
    for (const demand of this.demands.values()) demand.reject(unavailable('the node is stopping'));
    this.demands.clear();
    const all = [...this.loaded.values()];
    this.loaded.clear();
    this.publish(EMPTY_TABLE);
    await Promise.all(all.map((v) => v.close()));
  }

  /** What the node loads now: with density, the routed versions placed here or demanded; else every routed one. */
  private desired(): Map<string, VersionRecord> {
    const routable = this.routable();
    if (!this.density) return routable;
    const wanted = new Map<string, VersionRecord>();
    for (const [key, record] of routable) if (this.wantedHere(key)) wanted.set(key, record);
    return wanted;
  }

  /** With density, whether this node keeps a routed version loaded: a request asked for it, or its placement names this node. */
  private wantedHere(key: string): boolean {
    return this.demanded.has(key) || this.placedHere(key);
  }

  /** Every version named by a route's splits or shadows whose version record exists. */
  private routable(): Map<string, VersionRecord> {
    const wanted = new Map<string, VersionRecord>();
    const target = this.options.target.current();
    if (!target) return wanted;
    for (const route of target.routes.values()) {
      const versions = [...route.splits.map((s) => s.version), ...route.shadows.map((s) => s.version)];
      for (const version of versions) {
        const key = versionKey(route.model, version);
        const record = target.versions.get(key);
        if (record) wanted.set(key, record);
      }
    }
    return wanted;
  }

  private pass(): void {
    const target = this.options.target.current();
    if (this.stopped || !target) return;
    if (this.density) {
      const routable = this.routable();
      for (const key of this.demanded) if (!routable.has(key)) this.forgetDemand(key, notFound(`model version ${key} is no longer routed`));
      // A copy placement took away stays as a cached one: memory pressure, not a move, decides when it goes.
      for (const key of this.loaded.keys()) if (routable.has(key) && !this.isPlacedHere(key)) this.demanded.add(key);
      for (const key of this.displacedKeys) if (!this.isPlacedHere(key)) this.displacedKeys.delete(key);
    }
    let desired = this.desired();
    // Evictions to keep a measured load within the budget change what is wanted.
    if (this.adoptFinished(desired)) desired = this.desired();
    const now = this.options.now();

    for (const [key, record] of desired) {
      if (this.loading.has(key)) continue;
      // Evicted to make room for a load earlier in this pass: no longer wanted. Loading it again at once
      // evicted another in turn (measured in bench (m): tail versions reloaded for nobody, hot ones evicted for them).
      if (this.density && !this.wantedHere(key)) continue;
      const runtime = this.runtimeOf(record);
      const serving = this.loaded.get(key);
      // New runtime settings: a new session set is built beside the serving one, then swapped in (startLoad).
      if (serving && runtimeKey(serving.runtime) === runtimeKey(runtime)) continue;
      const failure = this.failures.get(key);
      if (failure && failure.sha256 === record.artifact.sha256 && failure.retryAt > now) continue;
      // A swap holds both sets while it loads, so it passes the budget like any load.
      const room = this.makeRoom(key, record);
      if (room) this.startLoad(key, record, runtime, room);
    }

    const routes = new Map<string, ModelRoute>();
    for (const route of target.routes.values()) {
      const entries = route.splits
        .filter((s) => s.weight > 0 && desired.has(versionKey(route.model, s.version)))
        .map((s) => ({ loaded: this.loaded.get(versionKey(route.model, s.version)), weight: s.weight }))
        .filter((e): e is { loaded: LoadedVersion; weight: number } => e.loaded !== undefined);
      if (entries.length > 0) {
        routes.set(route.model, this.modelRoute(route, entries));
        continue;
      }
      // A retired model serves nothing: its old split must not outlive it.
      if (target.retiredModels?.has(route.model)) continue;
      // Nor does an emptied route (route set --empty): its versions are to be
      // unloaded, not kept serving as if the new split were still loading.
      if (!route.splits.some((s) => s.weight > 0)) continue;
      // None of the new split can serve yet: keep serving the old one. With
      // density only until another node holds a weighted version READY:
      // requests are forwarded there instead, and the old one can go.
      const previous = this.routingTable.routes.get(route.model);
      const elsewhere = this.density?.heldElsewhere;
      const servedElsewhere = elsewhere !== undefined && route.splits.some((s) => s.weight > 0 && elsewhere(versionKey(route.model, s.version)));
      if (previous?.usable() && !servedElsewhere) routes.set(route.model, previous);
    }

    for (const model of this.builtRoutes.keys()) if (!target.routes.has(model)) this.builtRoutes.delete(model);

    const referenced = new Set<string>();
    for (const route of routes.values()) for (const e of route.entries) referenced.add(versionKey(e.loaded.model, e.loaded.version));
    for (const [key, version] of this.loaded) {
      if (desired.has(key) || referenced.has(key)) continue;
      this.loaded.delete(key);
      void this.unload(version);
    }
    const keepFailure = this.density ? this.routable() : desired;
    for (const key of this.failures.keys()) {
      if (keepFailure.has(key)) continue;
      this.failures.delete(key);
      const [model, version] = splitKey(key);
      this.options.status.clear(model, version);
    }

    this.publish({ routes, versions: new Map(this.loaded), ...(target.retiredModels?.size ? { retired: target.retiredModels } : {}) });
    this.signalIfSettled();
  }

  /** The model's routing table: the one built last time when nothing it depends on changed. */
  private modelRoute(record: RouteRecord, entries: RouteEntry[]): ModelRoute {
    const built = this.builtRoutes.get(record.model);
    const same =
      built !== undefined &&
      built.record === record &&
      built.route.entries.length === entries.length &&
      built.route.entries.every((e, i) => e.loaded === entries[i]!.loaded && e.weight === entries[i]!.weight);
    if (same) return built.route;
    // Slots of versions not READY here fall back to these entries (ModelRoute).
    const route = new ModelRoute(record.model, entries, record.slots ?? resolveSlots(record).slots);
    this.builtRoutes.set(record.model, { record, route });
    return route;
  }

  private signalIfSettled(): void {
    if (this.settledWaiters.length === 0 || !this.isSettled()) return;
    for (const waiter of this.settledWaiters.splice(0)) waiter.resolve();
  }

  /**
   * With density: whether `record` fits the budget, unloading idle cached
   * versions (least recently used first) when that makes room; the promise
   * settles when their sessions are released. Undefined when the load is
   * refused, which is then recorded like a failed load (FAILED with the
   * reason, retried with back-off).
   */
  private makeRoom(key: string, record: VersionRecord): Promise<void> | undefined {
    const density = this.density;
    if (!density) return Promise.resolve();
    const decision = density.memory.decide(record, this.loaded, this.placementOf(key), !this.placedHere(key));
    if (decision.kind === 'fits') return Promise.resolve();
    if (decision.kind === 'refuse') {
      density.memory.refusals++;
      const reason = `not loaded: ${decision.reason}`;
      density.onRefused?.(record, reason);
      if (this.placedHere(key)) {
        this.recordFailure(key, record, (this.failures.get(key)?.attempts ?? 0) + 1, reason);
      } else {
        // Asked for by a request: the room may be there for the next one (requests in flight end), so no back-off.
        const attempts = (this.failures.get(key)?.attempts ?? 0) + 1;
        this.failures.set(key, { attempts, error: reason, retryAt: this.options.now(), sha256: record.artifact.sha256 });
        this.report(record, 'FAILED', attempts, reason);
        this.forgetDemand(key, unavailable(`model '${record.model}' version '${record.version}' could not be loaded on this node: ${reason}`));
      }
      return undefined;
    }
    return this.evict(decision.victims, key, decision.displaced);
  }

  /** How admission sees placement while `forKey` loads: the load itself counts as placed and always resident (it is never its own victim). */
  private placementOf(forKey: string): PlacementOf {
    return { placed: (k) => k === forKey || this.placedHere(k), alwaysResident: (k) => k === forKey || this.alwaysResident(k) };
  }

  /**
   * Adds a just-loaded version to what the node holds and, with density, if
   * it measured more than its estimate and the node is now over its budget,
   * evicts idle cached versions (least recently used first, never this one).
   * When that cannot bring it back within its budget the version is kept
   * anyway, and the next loads are refused until room is made: resident-set
   * growth is a noisy measure (other work in the process, heap given back by
   * an earlier trim and taken again), and unloading on one noisy reading
   * refused sound versions (measured: a 2.2 MB MLP read as 10.6 MiB).
   */
  private keepWithinBudget(key: string, loaded: LoadedVersion): boolean {
    // The most recently used from now: the requests waiting for it must find it still here.
    loaded.loadedAtMs = Date.now();
    this.loaded.set(key, loaded);
    const density = this.density;
    if (!density) return false;
    const over = density.memory.overBudget(this.loaded, this.placementOf(key), !this.placedHere(key));
    if (over === undefined) return false;
    if (over.kind === 'evict') {
      void this.evict(over.victims, key, over.displaced);
      return true;
    }
    this.options.logger.warn('a loaded model version measured more than its estimate; the node is over its memory budget until room is made', {
      model: loaded.model,
      version: loaded.version,
      memoryBytes: loaded.memoryBytes,
      budgetBytes: density.memory.budgetBytes,
    });
    return false;
  }

  /**
   * Unloads idle versions to make room for `forKey`; settles when their
   * sessions are released. Those in `displaced` are placed copies: marked
   * so that the node does not load them again while displaced.
   */
  private evict(victims: readonly string[], forKey: string, displaced: readonly string[] = []): Promise<void> {
    const density = this.density!;
    const released: Promise<void>[] = [];
    for (const victim of victims) {
      const version = this.loaded.get(victim);
      if (!version) continue;
      this.loaded.delete(victim);
      this.demanded.delete(victim);
      density.memory.evictions++;
      density.onEvicted?.(version, forKey);
      const placed = displaced.includes(victim);
      if (placed) {
        this.displacedKeys.add(victim);
        density.onDisplaced?.(victim, forKey);
      }
      this.options.logger.info(placed ? 'displacing a placed model version to make room for one a request needs' : 'evicting a cached model version to make room', {
        model: version.model,
        version: version.version,
        memoryBytes: version.memoryBytes,
        for: forKey,
      });
      released.push(this.unload(version));
    }
    return Promise.all(released).then(() => undefined);
  }

  private forgetDemand(key: string, err: Error): void {
    this.demanded.delete(key);
    const demand = this.demands.get(key);
    if (!demand) return;
    this.demands.delete(key);
    demand.reject(err);
  }

  /** The runtime settings in force for `record`: its own over its model's (issue #17). */
  private runtimeOf(record: VersionRecord): ResolvedRuntime {
    return resolveRuntime(this.options.target.current()?.modelRuntimes?.get(record.model), record.runtime);
  }

  private startLoad(key: string, record: VersionRecord, runtime: ResolvedRuntime, room: Promise<void> = Promise.resolve()): void {
    const { logger, status } = this.options;
    const attempts = (this.failures.get(key)?.attempts ?? 0) + 1;
    // A settings change: the serving set keeps serving (and its status) until the new one is ready.
    const replacing = this.loaded.has(key);
    this.loading.add(key);
    this.density?.memory.loadStartedFor(key, record);
    if (!replacing) this.report(record, 'LOADING', attempts);
    logger.info(replacing ? 'loading model version with new runtime settings' : 'loading model version', { model: record.model, version: record.version, attempt: attempts });
    this.limit(async () => {
      // Loads after the evictions that made room for them, so the budget holds while sessions are released.
      await room;
      if (this.stopped) throw new Error('node stopping');
      return this.options.loader.load(record, runtime);
    }).then(
      (loaded) => {
        if (this.stopped) return void loaded.close();
        // Taken in by the next pass, which loads ending close together share (pass-pacer.ts); until then it is loading.
        this.finished.push({ key, record, loaded, attempts, runtime });
        this.pacer.request();
      },
      (err: Error) => {
        this.loading.delete(key);
        this.density?.memory.loadEnded(key);
        if (this.stopped) return;
        this.recordFailure(key, record, attempts, err.message, !replacing);
      },
    );
  }

  /** A failed or refused load: FAILED with the reason, retried after a back-off that doubles per failure. */
  private recordFailure(key: string, record: VersionRecord, attempts: number, error: string, reportFailed = true): void {
    const { logger } = this.options;
    const delay = Math.min(this.options.retryMinMs * 2 ** (attempts - 1), this.options.retryMaxMs);
    this.failures.set(key, { attempts, error, retryAt: this.options.now() + delay, sha256: record.artifact.sha256 });
    // A failed settings swap leaves the serving set (and its READY) in place.
    if (reportFailed) this.report(record, 'FAILED', attempts, error);
    const demand = this.demands.get(key);
    this.demands.delete(key);
    demand?.reject(unavailable(`model '${record.model}' version '${record.version}' could not be loaded on this node: ${error}`));
    // A version loaded on request is tried again by the next request after the back-off, not by a timer.
    this.demanded.delete(key);
    // No pass follows a failure until its retry: it may be the last version readiness waited for.
    this.signalIfSettled();
    logger.error('loading model version failed; the model keeps its current versions, will retry', {
      model: record.model,
      version: record.version,
      attempt: attempts,
      retryInMs: delay,
      error,
    });
    const timer = setTimeout(() => {
      this.retryTimers.delete(timer);
      this.pass();
    }, delay);
    this.retryTimers.add(timer);
  }

  /**
   * Takes in the loads that ended since the last pass: each is READY if still
   * wanted as it was loaded, else closed; with density, its measured memory is
   * recorded and the requests waiting for it resolved.
   * @returns whether keeping one within the budget evicted cached versions.
   */
  private adoptFinished(desired: ReadonlyMap<string, VersionRecord>): boolean {
    const { logger, status } = this.options;
    let evicted = false;
    for (const { key, record, loaded, attempts, runtime } of this.finished.splice(0)) {
      this.loading.delete(key);
      this.failures.delete(key);
      if (this.density) {
        this.density.memory.loadEnded(key);
        if (loaded.memoryBytes === 0) loaded.memoryBytes = this.density.memory.estimate(record);
        else this.density.memory.recordMeasured(record, loaded.memoryBytes);
      }
      const stillWanted = desired.get(key);
      const current = this.loaded.get(key);
      if (!stillWanted || stillWanted.artifact.sha256 !== record.artifact.sha256) {
        void loaded.close();
        if (!current) status.clear(record.model, record.version);
        this.forgetDemand(key, unavailable(`model version ${key} changed while it was loading; retry`));
      } else if (runtimeKey(this.runtimeOf(stillWanted)) !== runtimeKey(runtime)) {
        // The settings changed again while it loaded: this pass loads the newest.
        void loaded.close();
      } else {
        // Loaded again (a request needed it): a placed copy like any other from now.
        this.displacedKeys.delete(key);
        if (this.keepWithinBudget(key, loaded)) evicted = true;
        // Requests already holding the old set finish on it; unload waits for them.
        if (current) void this.unload(current, false);
        this.report(record, 'READY', attempts, '', loaded.loadMs, loaded.memoryBytes || undefined);
        logger.info('model version ready', {
          model: record.model,
          version: record.version,
          loadMs: Math.round(loaded.loadMs),
          batch: loaded.runtime.maxBatchSize,
          instances: loaded.sessions.length,
          ...(this.density ? { memoryBytes: loaded.memoryBytes } : {}),
        });
        const demand = this.demands.get(key);
        this.demands.delete(key);
        demand?.resolve(loaded);
      }
    }
    return evicted;
  }

  /** Closes a version once its requests finish; `reportUnloading` false for a set replaced by new settings (the version stays READY). */
  private unload(version: LoadedVersion, reportUnloading = true): Promise<void> {
    const { status, logger } = this.options;
    if (reportUnloading) this.report(version.record, 'UNLOADING', 0);
    logger.info('unloading model version', { model: version.model, version: version.version });
    const released = this.density?.memory.releaseStarted(version.memoryBytes);
    return version.close().then(
      () => {
        released?.();
        // A version can be wanted again while it was closing; only clear if not.
        const key = versionKey(version.model, version.version);
        if (!this.loaded.has(key) && !this.loading.has(key) && !this.failures.has(key)) status.clear(version.model, version.version);
      },
      (err: Error) => {
        released?.();
        logger.error('releasing a session failed', { model: version.model, version: version.version, error: err.message });
      },
    );
  }

  private report(record: VersionRecord, state: LoadState, attempts: number, error = '', loadMs?: number, memoryBytes?: number): void {
    this.options.status.report({
      model: record.model,
      version: record.version,
      state,
      error,
      attempts,
      ...(loadMs === undefined ? {} : { loadMs }),
      ...(memoryBytes === undefined ? {} : { memoryBytes }),
    });
  }

  private publish(table: RoutingTable): void {
    this.routingTable = table;
    this.options.onTable?.(table);
  }
}

function splitKey(key: string): [string, string] {
  const i = key.indexOf('/');
  return [key.slice(0, i), key.slice(i + 1)];
}
