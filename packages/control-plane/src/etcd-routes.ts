import type { HistoryEntryRecord, RouteRecord } from '@switchyard/core';
import type { EtcdKv, EtcdWatcher } from './etcd-client.js';
import { notRefused, type GuardedWrite } from './etcd-guarded-write.js';
import type { Stored } from './etcd-read.js';
import type { TableContext } from './etcd-table-context.js';

/** A model's route and its revision, read tolerantly: an invalid stored value is reported, not thrown. */
export interface RouteRead {
  /** Mod revision of the route key; '0' when there is no route. */
  revision: string;
  /** The stored route; undefined when absent or invalid. */
  current?: RouteRecord;
  /** Why the stored value was rejected, when it was. */
  invalid?: string;
}

/** Outcome of {@link RoutesTable.put}. */
export type PutRouteOutcome =
  | { status: 'written'; revision: string }
  | { status: 'route-changed' }
  /** A referenced version was deleted since it was read. */
  | { status: 'version-gone'; version: string }
  /** A referenced version was written since it was read (e.g. retired, warned, pinned): check it again. */
  | { status: 'version-changed'; version: string };

/**
 * The `target/routes/` table, and the only writer of route keys: SetRoute,
 * rollouts, shadows and retirement all write a route through {@link put}
 * or {@link stage}, so every route written has passed the route schema.
 */
export class RoutesTable {
  constructor(private readonly t: TableContext) {}

  /** The model's route; undefined when absent. @throws INTERNAL when the stored value is invalid. */
  async get(model: string): Promise<Stored<RouteRecord> | undefined> {
    const { kv } = await this.t.access.get(this.t.keys.route(model));
    return this.t.reader.strict(kv, this.t.kinds.route);
  }

  /** The route and its revision, e.g. for a conditional update; an invalid stored value is logged and reported, not thrown. */
  async read(model: string, revision?: string): Promise<RouteRead> {
    return this.#routeRead((await this.t.access.get(this.t.keys.route(model), revision)).kv);
  }

  /** Every route key (or the model's), valid or not, by model name as the key says. */
  async readAll(model?: string): Promise<Map<string, RouteRead>> {
    const kvs =
      model === undefined
        ? (await this.t.access.range({ prefix: this.t.keys.routesPrefix() })).kvs
        : [(await this.t.access.get(this.t.keys.route(model))).kv].filter((kv) => kv !== undefined);
    const prefix = this.t.keys.routesPrefix();
    return new Map(kvs.map((kv) => [kv.key.toString('utf8').slice(prefix.length), this.#routeRead(kv)]));
  }

  /**
   * Every valid route, with its revision; invalid ones are skipped, and
   * logged unless `quiet` (leader passes run every second or so, and the
   * admin API and the nodes report an invalid route already).
   */
  async listValid(options: { quiet?: boolean } = {}): Promise<Stored<RouteRecord>[]> {
    const { kvs } = await this.t.access.range({ prefix: this.t.keys.routesPrefix() });
    if (!options.quiet) return this.t.reader.all(kvs, this.t.kinds.route);
    return kvs.flatMap((kv) => {
      const parsed = this.t.reader.parse(kv, this.t.kinds.route);
      return parsed.ok ? [parsed.stored] : [];
    });
  }

  /** A watch of every route key, to wake leader work when a route changes. */
  watch(): EtcdWatcher {
    return this.t.access.watchPrefix(this.t.keys.routesPrefix());
  }

  /**
   * Writes a route and its history entry if the route key's mod revision is
   * still `expectedRevision` ('0': the route must not exist yet) and every
   * referenced version key is still at the given mod revision. The mod
   * revision, not the create revision: a version is retired by rewriting its
   * key, and retiring one the route does not reference yet leaves the route
   * key alone, so only the version's own revision shows that the version
   * checked as routable was retired before the route was written.
   * @param versions version name → mod revision as read.
   */
  async put(record: RouteRecord, expectedRevision: string, versions: ReadonlyMap<string, string>, history: HistoryEntryRecord): Promise<PutRouteOutcome> {
    const { keys } = this.t;
    const key = keys.route(record.model);
    const write = this.t.write().expectRevision(key, expectedRevision);
    for (const [version, modRevision] of versions) write.expectRevision(keys.version(record.model, version), modRevision);
    const outcome = notRefused(await this.stage(write, record).audit(history).commit());
    if (outcome.status === 'written') return { status: 'written', revision: outcome.revision };
    if (outcome.changed.some((c) => c.key === key)) return { status: 'route-changed' };
    for (const version of versions.keys()) {
      const changed = outcome.changed.find((c) => c.key === keys.version(record.model, version));
      if (changed) return changed.now === undefined ? { status: 'version-gone', version } : { status: 'version-changed', version };
    }
    // Something changed and changed back in between: as far as the caller can tell, a race.
    return { status: 'route-changed' };
  }

  /** Adds a route's put to a write; the caller compares the route revision it was decided from. */
  stage(write: GuardedWrite, record: RouteRecord): GuardedWrite {
    return write.put(this.t.keys.route(record.model), record);
  }

  #routeRead(kv: EtcdKv | undefined): RouteRead {
    if (!kv) return { revision: '0' };
    const parsed = this.t.reader.tolerant(kv, this.t.kinds.route);
    return parsed.ok ? { revision: kv.mod_revision, current: parsed.stored.value } : { revision: kv.mod_revision, invalid: parsed.error };
  }
}
