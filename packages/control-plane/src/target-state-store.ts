import type { Etcd3, IKeyValue } from 'etcd3';
import {
  ModelRecordSchema,
  NodeRecordSchema,
  RouteRecordSchema,
  VersionRecordSchema,
  VersionStatusRecordSchema,
  internal,
  parseStored,
  type KeyLayout,
  type Logger,
  type ModelRecord,
  type NodeRecord,
  type RouteRecord,
  type VersionRecord,
  type VersionStatusRecord,
} from '@switchyard/core';
import { etcdCall } from './etcd-errors.js';

/** A zod schema of a stored record, as parseStored takes it. */
type Schema<T> = Parameters<typeof parseStored<T>>[0];

/** Says why a record does not belong under its key, or undefined when it does. */
type KeyCheck<T> = (key: string, value: T) => string | undefined;

/** A record read from etcd, with the revisions that make a later write conditional. */
export interface Stored<T> {
  key: string;
  value: T;
  /** etcd mod revision of the key (a decimal string, as etcd3 returns it). */
  modRevision: string;
  /** etcd create revision of the key; stays the same until the key is deleted. */
  createRevision: string;
}

/** A model's route and its revision, read tolerantly: an invalid stored value is reported, not thrown. */
export interface RouteRead {
  /** Mod revision of the route key; '0' when there is no route. */
  revision: string;
  /** The stored route; undefined when absent or invalid. */
  current?: RouteRecord;
  /** Why the stored value was rejected, when it was. */
  invalid?: string;
}

/** How the model of a new version must look for the write to apply. */
export type ModelCondition =
  /** The model does not exist yet: create it with this record. */
  | { create: ModelRecord }
  /** The model exists with this create revision (i.e. was not deleted and re-created). */
  | { createRevision: string };

/** Outcome of {@link TargetStateStore.createVersion}. */
export type CreateVersionOutcome =
  | { status: 'created'; revision: string }
  | { status: 'version-exists' }
  | { status: 'model-changed' };

/** Outcome of {@link TargetStateStore.putRoute}. */
export type PutRouteOutcome =
  | { status: 'written'; revision: string }
  | { status: 'route-changed' }
  | { status: 'version-gone'; version: string };

/** One live node and its states of one model's versions, read at one revision. */
export interface NodeModelState {
  node: Stored<NodeRecord>;
  statuses: Stored<VersionStatusRecord>[];
}

/** Options for {@link TargetStateStore}. */
export interface TargetStateStoreOptions {
  etcd: Etcd3;
  keys: KeyLayout;
  logger: Logger;
}

/**
 * Every etcd read and write of the control plane. Writes are transactions
 * that compare the revisions of what was read, so two admins editing at once
 * can never silently overwrite each other. Stored values are checked against
 * their schema on every read: lists skip and log a bad one, direct gets
 * report it with its key.
 */
export class TargetStateStore {
  readonly keys: KeyLayout;
  readonly #etcd: Etcd3;
  readonly #logger: Logger;

  constructor(options: TargetStateStoreOptions) {
    this.#etcd = options.etcd;
    this.keys = options.keys;
    this.#logger = options.logger;
  }

  /** The model's record; undefined when absent. @throws INTERNAL when the stored value is invalid. */
  async getModel(model: string): Promise<Stored<ModelRecord> | undefined> {
    return this.#getStrict(this.keys.model(model), ModelRecordSchema, 'model');
  }

  /** One version; undefined when absent. @throws INTERNAL when the stored value is invalid. */
  async getVersion(model: string, version: string): Promise<Stored<VersionRecord> | undefined> {
    return this.#getStrict(this.keys.version(model, version), VersionRecordSchema, 'version', this.#versionMatchesKey);
  }

  /** Mod revision of a version key, valid or not; undefined when absent. Lets a broken record be deleted. */
  async versionRevision(model: string, version: string): Promise<string | undefined> {
    const kv = await this.#getKv(this.keys.version(model, version));
    return kv?.mod_revision;
  }

  /** Every valid version of a model, in etcd key order; invalid ones are logged and skipped. */
  async listVersions(model: string): Promise<Stored<VersionRecord>[]> {
    const kvs = await this.#listKvs(this.keys.versionsPrefix(model));
    return this.#parseAll(kvs, VersionRecordSchema, 'version', this.#versionMatchesKey);
  }

  /** Names of every version key of a model, valid or not: what an automatic name must avoid. */
  async listVersionNames(model: string): Promise<string[]> {
    const prefix = this.keys.versionsPrefix(model);
    const keys = await etcdCall(() => this.#etcd.getAll().prefix(prefix).keys());
    return keys.map((key) => key.slice(prefix.length));
  }

  /**
   * Writes a new version (and its model, if new) in one transaction that
   * applies only if the version key does not exist and the model is as read.
   */
  async createVersion(record: VersionRecord, model: ModelCondition): Promise<CreateVersionOutcome> {
    const versionKey = this.keys.version(record.model, record.version);
    const modelKey = this.keys.model(record.model);
    const puts = [this.#etcd.put(versionKey).value(JSON.stringify(record))];
    if ('create' in model) puts.push(this.#etcd.put(modelKey).value(JSON.stringify(model.create)));
    const expectedModelCreate = 'create' in model ? 0 : model.createRevision;
    const result = await etcdCall(() =>
      this.#etcd
        .if(versionKey, 'Create', '==', 0)
        .and(modelKey, 'Create', '==', expectedModelCreate)
        .then(...puts)
        .else(this.#etcd.get(versionKey))
        .commit(),
    );
    if (result.succeeded) return { status: 'created', revision: result.header.revision };
    const existing = result.responses[0]?.response_range?.kvs ?? [];
    return existing.length > 0 ? { status: 'version-exists' } : { status: 'model-changed' };
  }

  /**
   * Deletes a version if neither it nor the model's route changed since they
   * were read. Resolves false when either did.
   */
  async deleteVersion(model: string, version: string, expected: { versionRevision: string; routeRevision: string }): Promise<boolean> {
    const versionKey = this.keys.version(model, version);
    const result = await etcdCall(() =>
      this.#etcd
        .if(versionKey, 'Mod', '==', expected.versionRevision)
        .and(this.keys.route(model), 'Mod', '==', expected.routeRevision)
        .then(this.#etcd.delete().key(versionKey))
        .commit(),
    );
    return result.succeeded;
  }

  /** The model's route; undefined when absent. @throws INTERNAL when the stored value is invalid. */
  async getRoute(model: string): Promise<Stored<RouteRecord> | undefined> {
    return this.#getStrict(this.keys.route(model), RouteRecordSchema, 'route', this.#routeMatchesKey);
  }

  /** The route and its revision, e.g. for a conditional update; an invalid stored value is logged and reported, not thrown. */
  async readRoute(model: string): Promise<RouteRead> {
    const key = this.keys.route(model);
    const kv = await this.#getKv(key);
    if (!kv) return { revision: '0' };
    const parsed = this.#parse(kv, RouteRecordSchema, this.#routeMatchesKey);
    if (parsed.ok) return { revision: kv.mod_revision, current: parsed.stored.value };
    this.#logInvalid(key, 'route', parsed.error);
    return { revision: kv.mod_revision, invalid: parsed.error };
  }

  /**
   * Writes a route if the route key's mod revision is still `expectedRevision`
   * ('0': the route must not exist yet) and every referenced version still
   * has the given create revision.
   */
  async putRoute(record: RouteRecord, expectedRevision: string, versions: ReadonlyMap<string, string>): Promise<PutRouteOutcome> {
    const key = this.keys.route(record.model);
    let txn =
      expectedRevision === '0'
        ? this.#etcd.if(key, 'Create', '==', 0)
        : this.#etcd.if(key, 'Mod', '==', expectedRevision);
    for (const [version, createRevision] of versions) {
      txn = txn.and(this.keys.version(record.model, version), 'Create', '==', createRevision);
    }
    const result = await etcdCall(() =>
      txn
        .then(this.#etcd.put(key).value(JSON.stringify(record)))
        .else(this.#etcd.get(key), ...[...versions.keys()].map((v) => this.#etcd.get(this.keys.version(record.model, v))))
        .commit(),
    );
    if (result.succeeded) return { status: 'written', revision: result.header.revision };
    const [routeResponse, ...versionResponses] = result.responses;
    const routeNow = routeResponse?.response_range?.kvs[0]?.mod_revision ?? '0';
    if (routeNow !== expectedRevision) return { status: 'route-changed' };
    const names = [...versions.entries()];
    for (let i = 0; i < names.length; i++) {
      const [version, createRevision] = names[i]!;
      if (versionResponses[i]?.response_range?.kvs[0]?.create_revision !== createRevision) return { status: 'version-gone', version };
    }
    // Both changed back in between: as far as the caller can tell, a race.
    return { status: 'route-changed' };
  }

  /**
   * The live nodes (node keys live exactly as long as their node's lease) and
   * each one's status of the model's versions, all read at one revision so
   * the picture is consistent.
   */
  async readModelStates(model: string): Promise<NodeModelState[]> {
    const nodesResponse = await etcdCall(() => this.#etcd.getAll().prefix(this.keys.nodesPrefix()).exec());
    const revision = nodesResponse.header.revision;
    const nodes = this.#parseAll(nodesResponse.kvs, NodeRecordSchema, 'node', this.#nodeMatchesKey);
    return Promise.all(
      nodes.map(async (node) => {
        const prefix = `${this.keys.statusPrefix(node.value.id)}${model}/`;
        const response = await etcdCall(() => this.#etcd.getAll().prefix(prefix).revision(revision).exec());
        return { node, statuses: this.#parseAll(response.kvs, VersionStatusRecordSchema, 'version status', this.#statusMatchesKey) };
      }),
    );
  }

  async #getKv(key: string): Promise<IKeyValue | undefined> {
    const response = await etcdCall(() => this.#etcd.get(key).exec());
    return response.kvs[0];
  }

  async #listKvs(prefix: string): Promise<IKeyValue[]> {
    const response = await etcdCall(() => this.#etcd.getAll().prefix(prefix).exec());
    return response.kvs;
  }

  // A record copied under another key by hand would otherwise be served under
  // a name it does not carry.
  readonly #versionMatchesKey: KeyCheck<VersionRecord> = (key, value) =>
    key === this.keys.version(value.model, value.version) ? undefined : `it names ${value.model}/${value.version}, not its key`;

  readonly #routeMatchesKey: KeyCheck<RouteRecord> = (key, value) =>
    key === this.keys.route(value.model) ? undefined : `it names model ${value.model}, not its key`;

  readonly #nodeMatchesKey: KeyCheck<NodeRecord> = (key, value) =>
    key === this.keys.node(value.id) ? undefined : `it names node ${value.id}, not its key`;

  readonly #statusMatchesKey: KeyCheck<VersionStatusRecord> = (key, value) =>
    key === this.keys.status(value.nodeId, value.model, value.version)
      ? undefined
      : `it names node ${value.nodeId}, ${value.model}/${value.version}, not its key`;

  #parse<T>(kv: IKeyValue, schema: Schema<T>, check?: KeyCheck<T>): { ok: true; stored: Stored<T> } | { ok: false; error: string } {
    const key = kv.key.toString('utf8');
    const parsed = parseStored(schema, kv.value.toString('utf8'));
    if (!parsed.ok) return parsed;
    const mismatch = check?.(key, parsed.value);
    if (mismatch !== undefined) return { ok: false, error: mismatch };
    return { ok: true, stored: { key, value: parsed.value, modRevision: kv.mod_revision, createRevision: kv.create_revision } };
  }

  async #getStrict<T>(key: string, schema: Schema<T>, what: string, check?: KeyCheck<T>): Promise<Stored<T> | undefined> {
    const kv = await this.#getKv(key);
    if (!kv) return undefined;
    const parsed = this.#parse(kv, schema, check);
    if (!parsed.ok) {
      this.#logInvalid(key, what, parsed.error);
      throw internal(`the ${what} stored at etcd key ${key} is invalid (${parsed.error}); fix or delete it with etcdctl`);
    }
    return parsed.stored;
  }

  #parseAll<T>(kvs: IKeyValue[], schema: Schema<T>, what: string, check?: KeyCheck<T>): Stored<T>[] {
    const out: Stored<T>[] = [];
    for (const kv of kvs) {
      const parsed = this.#parse(kv, schema, check);
      if (parsed.ok) out.push(parsed.stored);
      else this.#logInvalid(kv.key.toString('utf8'), what, parsed.error);
    }
    return out;
  }

  #logInvalid(key: string, what: string, error: string): void {
    this.#logger.warn(`ignoring an invalid ${what} record in etcd; fix or delete it with etcdctl`, { key, error });
  }
}
