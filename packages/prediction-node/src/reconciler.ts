import pLimit, { type LimitFunction } from 'p-limit';
import { failedPrecondition, resolveRuntime, resolveSlots, runtimeKey, type Logger, type ResolvedRuntime, type VersionRecord, type VersionStatusRecord, type LoadState, type RouteRecord } from '@switchyard/core';
import type { LoadedVersion } from './loaded-version.js';
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
  private readonly options: Required<Omit<ReconcilerOptions, 'onTable'>> & Pick<ReconcilerOptions, 'onTable'>;
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
  private routingTable: RoutingTable = EMPTY_TABLE;
  private stopped = false;
  private settledWaiters: Array<{ resolve: () => void; reject: (err: Error) => void }> = [];

  constructor(options: ReconcilerOptions) {
    this.options = { loadConcurrency: 2, retryMinMs: 1000, retryMaxMs: 60_000, now: Date.now, ...options };
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

  /** Stops acting and frees every session, after their in-flight requests. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const waiter of this.settledWaiters.splice(0)) waiter.reject(failedPrecondition('the reconciler has stopped'));
    for (const timer of this.retryTimers) clearTimeout(timer);
    const all = [...this.loaded.values()];
    this.loaded.clear();
    this.publish(EMPTY_TABLE);
    await Promise.all(all.map((v) => v.close()));
  }

  private desired(): Map<string, VersionRecord> {
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
    const desired = this.desired();
    const now = this.options.now();

    for (const [key, record] of desired) {
      if (this.loading.has(key)) continue;
      const runtime = this.runtimeOf(record);
      const serving = this.loaded.get(key);
      // New runtime settings: a new session set is built beside the serving one, then swapped in (startLoad).
      if (serving && runtimeKey(serving.runtime) === runtimeKey(runtime)) continue;
      const failure = this.failures.get(key);
      if (failure && failure.sha256 === record.artifact.sha256 && failure.retryAt > now) continue;
      this.startLoad(key, record, runtime);
    }

    const routes = new Map<string, ModelRoute>();
    for (const route of target.routes.values()) {
      const entries = route.splits
        .filter((s) => s.weight > 0)
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
      // None of the new split can serve yet: keep serving the old one.
      const previous = this.routingTable.routes.get(route.model);
      if (previous?.usable()) routes.set(route.model, previous);
    }

    for (const model of this.builtRoutes.keys()) if (!target.routes.has(model)) this.builtRoutes.delete(model);

    const referenced = new Set<string>();
    for (const route of routes.values()) for (const e of route.entries) referenced.add(versionKey(e.loaded.model, e.loaded.version));
    for (const [key, version] of this.loaded) {
      if (desired.has(key) || referenced.has(key)) continue;
      this.loaded.delete(key);
      this.unload(version);
    }
    for (const key of this.failures.keys()) {
      if (desired.has(key)) continue;
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

  /** The runtime settings in force for `record`: its own over its model's (issue #17). */
  private runtimeOf(record: VersionRecord): ResolvedRuntime {
    return resolveRuntime(this.options.target.current()?.modelRuntimes?.get(record.model), record.runtime);
  }

  private startLoad(key: string, record: VersionRecord, runtime: ResolvedRuntime): void {
    const { logger, status } = this.options;
    const attempts = (this.failures.get(key)?.attempts ?? 0) + 1;
    // A settings change: the serving set keeps serving (and its status) until the new one is ready.
    const replacing = this.loaded.has(key);
    this.loading.add(key);
    if (!replacing) this.report(record, 'LOADING', attempts);
    logger.info(replacing ? 'loading model version with new runtime settings' : 'loading model version', { model: record.model, version: record.version, attempt: attempts });
    this.limit(() => (this.stopped ? Promise.reject(new Error('node stopping')) : this.options.loader.load(record, runtime))).then(
      (loaded) => {
        this.loading.delete(key);
        this.failures.delete(key);
        const stillWanted = this.desired().get(key);
        const current = this.loaded.get(key);
        if (this.stopped || !stillWanted || stillWanted.artifact.sha256 !== record.artifact.sha256) {
          void loaded.close();
          if (!this.stopped && !current) status.clear(record.model, record.version);
        } else if (runtimeKey(this.runtimeOf(stillWanted)) !== runtimeKey(runtime)) {
          // The settings changed again while it loaded: the next pass loads the newest.
          void loaded.close();
        } else {
          this.loaded.set(key, loaded);
          // Requests already holding the old set finish on it; close() waits for them.
          if (current) void current.close();
          this.report(record, 'READY', attempts, '', loaded.loadMs);
          logger.info('model version ready', { model: record.model, version: record.version, loadMs: Math.round(loaded.loadMs), batch: loaded.runtime.maxBatchSize, instances: loaded.sessions.length });
        }
        this.pass();
      },
      (err: Error) => {
        this.loading.delete(key);
        if (this.stopped) return;
        const delay = Math.min(this.options.retryMinMs * 2 ** (attempts - 1), this.options.retryMaxMs);
        this.failures.set(key, { attempts, error: err.message, retryAt: this.options.now() + delay, sha256: record.artifact.sha256 });
        if (!replacing) this.report(record, 'FAILED', attempts, err.message);
        // No pass follows a failure until its retry: it may be the last version readiness waited for.
        this.signalIfSettled();
        logger.error('loading model version failed; the model keeps its current versions, will retry', {
          model: record.model,
          version: record.version,
          attempt: attempts,
          retryInMs: delay,
          error: err.message,
        });
        const timer = setTimeout(() => {
          this.retryTimers.delete(timer);
          this.pass();
        }, delay);
        this.retryTimers.add(timer);
      },
    );
  }

  private unload(version: LoadedVersion): void {
    const { status, logger } = this.options;
    this.report(version.record, 'UNLOADING', 0);
    logger.info('unloading model version', { model: version.model, version: version.version });
    version.close().then(
      () => {
        // A version can be wanted again while it was closing; only clear if not.
        const key = versionKey(version.model, version.version);
        if (!this.loaded.has(key) && !this.loading.has(key) && !this.failures.has(key)) status.clear(version.model, version.version);
      },
      (err: Error) => logger.error('releasing a session failed', { model: version.model, version: version.version, error: err.message }),
    );
  }

  private report(record: VersionRecord, state: LoadState, attempts: number, error = '', loadMs?: number): void {
    this.options.status.report({
      model: record.model,
      version: record.version,
      state,
      error,
      attempts,
      ...(loadMs === undefined ? {} : { loadMs }),
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
