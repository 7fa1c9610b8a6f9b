import { CompareResult, CompareTarget, Range, type Etcd3, type IKeyValue, type IRequestOp } from 'etcd3';
import {
  ControlPlaneRecordSchema,
  HistoryEntryRecordSchema,
  ModelRecordSchema,
  NodeRecordSchema,
  RouteRecordSchema,
  VersionRecordSchema,
  VersionStatusRecordSchema,
  internal,
  parseStored,
  type ControlPlaneRecord,
  type HistoryEntryRecord,
  type KeyLayout,
  type Logger,
  type ModelRecord,
  type NodeRecord,
  type RouteRecord,
  type VersionRecord,
  type VersionStatusRecord,
} from '@switchyard/core';
import { etcdCall } from './etcd-errors.js';
import { historyEntryId } from './history-entries.js';

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
  /** A referenced version was deleted since it was read. */
  | { status: 'version-gone'; version: string }
  /** A referenced version was written since it was read (e.g. retired, warned, pinned): check it again. */
  | { status: 'version-changed'; version: string };

/** One live node and its states of one model's versions, read at one revision. */
export interface NodeModelState {
  node: Stored<NodeRecord>;
  statuses: Stored<VersionStatusRecord>[];
}

/** Outcome of {@link TargetStateStore.createModel}. */
export type CreateModelOutcome = { status: 'created'; revision: string } | { status: 'exists' };

/** A key's mod revision and its value as JSON (the raw text when it is not JSON), valid or not. */
export interface RawRecord {
  modRevision: string;
  value: unknown;
}

/** One slice of the model keys, in name order. */
export interface ModelRange {
  /** The valid records of the slice; invalid ones are logged and skipped. */
  models: Stored<ModelRecord>[];
  /** Name of the last key of the slice, valid or not: where the next slice starts. */
  lastName: string | undefined;
  /** Whether model keys remain after the slice. */
  more: boolean;
  /** The etcd revision the slice was read at. */
  revision: string;
}

/** Everything DeleteModel removes, read at one revision. */
export interface ModelTree {
  /** The etcd revision of the reads; later writes to any version key make a delete conditional on it fail. */
  revision: string;
  /** The model key, valid or not; undefined when absent. */
  model: RawRecord | undefined;
  route: RouteRead;
  /** Every version key's name, valid or not. */
  versionNames: string[];
}

/** One slice of a model's audit log, newest first. */
export interface HistoryRange {
  /** The valid entries with their ids; invalid ones are logged and skipped. */
  entries: { id: string; record: HistoryEntryRecord }[];
  /** Id of the last (oldest) entry of the slice, valid or not: where the next slice starts. */
  lastId: string | undefined;
  /** Whether older entries remain. */
  more: boolean;
}

/** Every live node, control plane and version status, read at one revision. */
export interface ClusterRead {
  nodes: Stored<NodeRecord>[];
  controlPlanes: Stored<ControlPlaneRecord>[];
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
 * can never silently overwrite each other, and each one appends its audit
 * log entry in the same transaction, so no change goes unrecorded and no
 * entry records a change that did not happen. Stored values are checked against
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
    return this.#getStrict(this.keys.model(model), ModelRecordSchema, 'model', this.#modelMatchesKey);
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

  /**
   * Names of every version key of a model, valid or not, in key order: what an
   * automatic name must avoid. `revision` reads them as they were then.
   */
  async listVersionNames(model: string, revision?: string): Promise<string[]> {
    const prefix = this.keys.versionsPrefix(model);
    const builder = this.#etcd.getAll().prefix(prefix);
    if (revision !== undefined) builder.revision(revision);
    const keys = await etcdCall(() => builder.keys());
    return keys.map((key) => key.slice(prefix.length));
  }

  /** A version key's revision and value, valid or not; undefined when absent. Lets a broken record be deleted and still be recorded. */
  async readVersionRaw(model: string, version: string): Promise<RawRecord | undefined> {
    const kv = await this.#getKv(this.keys.version(model, version));
    return kv ? rawRecord(kv) : undefined;
  }

  /**
   * Writes a new version (and its model, if new) and its history entry in one
   * transaction that applies only if the version key does not exist and the
   * model is as read.
   */
  async createVersion(record: VersionRecord, model: ModelCondition, history: HistoryEntryRecord): Promise<CreateVersionOutcome> {
    const versionKey = this.keys.version(record.model, record.version);
    const modelKey = this.keys.model(record.model);
    const puts = [this.#etcd.put(versionKey).value(JSON.stringify(record)), this.#historyPut(history)];
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
   * Deletes a version, recording it in the history, if neither it nor the
   * model's route changed since they were read. Resolves false when either did.
   */
  async deleteVersion(
    model: string,
    version: string,
    expected: { versionRevision: string; routeRevision: string },
    history: HistoryEntryRecord,
  ): Promise<boolean> {
    const versionKey = this.keys.version(model, version);
    const result = await etcdCall(() =>
      this.#etcd
        .if(versionKey, 'Mod', '==', expected.versionRevision)
        .and(this.keys.route(model), 'Mod', '==', expected.routeRevision)
        .then(this.#etcd.delete().key(versionKey), this.#historyPut(history))
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
    return this.#routeRead(await this.#getKv(this.keys.route(model)));
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
  async putRoute(
    record: RouteRecord,
    expectedRevision: string,
    versions: ReadonlyMap<string, string>,
    history: HistoryEntryRecord,
  ): Promise<PutRouteOutcome> {
    const key = this.keys.route(record.model);
    let txn =
      expectedRevision === '0'
        ? this.#etcd.if(key, 'Create', '==', 0)
        : this.#etcd.if(key, 'Mod', '==', expectedRevision);
    for (const [version, modRevision] of versions) {
      txn = txn.and(this.keys.version(record.model, version), 'Mod', '==', modRevision);
    }
    const result = await etcdCall(() =>
      txn
        .then(this.#etcd.put(key).value(JSON.stringify(record)), this.#historyPut(history))
        .else(this.#etcd.get(key), ...[...versions.keys()].map((v) => this.#etcd.get(this.keys.version(record.model, v))))
        .commit(),
    );
    if (result.succeeded) return { status: 'written', revision: result.header.revision };
    const [routeResponse, ...versionResponses] = result.responses;
    const routeNow = routeResponse?.response_range?.kvs[0]?.mod_revision ?? '0';
    if (routeNow !== expectedRevision) return { status: 'route-changed' };
    const names = [...versions.entries()];
    for (let i = 0; i < names.length; i++) {
      const [version, modRevision] = names[i]!;
      const kv = versionResponses[i]?.response_range?.kvs[0];
      if (kv === undefined) return { status: 'version-gone', version };
      if (kv.mod_revision !== modRevision) return { status: 'version-changed', version };
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

  /**
   * Writes a new model and its history entry if no model of that name exists.
   */
  async createModel(record: ModelRecord, history: HistoryEntryRecord): Promise<CreateModelOutcome> {
    const key = this.keys.model(record.name);
    const result = await etcdCall(() =>
      this.#etcd
        .if(key, 'Create', '==', 0)
        .then(this.#etcd.put(key).value(JSON.stringify(record)), this.#historyPut(history))
        .commit(),
    );
    return result.succeeded ? { status: 'created', revision: result.header.revision } : { status: 'exists' };
  }

  /**
   * Replaces a model record, with its history entry, if the model key is still
   * at `expectedRevision`. Resolves the new revision, or undefined when the
   * model changed (or vanished) since it was read.
   */
  async updateModel(record: ModelRecord, expectedRevision: string, history: HistoryEntryRecord): Promise<string | undefined> {
    const key = this.keys.model(record.name);
    const result = await etcdCall(() =>
      this.#etcd
        .if(key, 'Mod', '==', expectedRevision)
        .then(this.#etcd.put(key).value(JSON.stringify(record)), this.#historyPut(history))
        .commit(),
    );
    return result.succeeded ? result.header.revision : undefined;
  }

  /**
   * Up to `limit` model keys in name order, starting after the model named
   * `after` (from the first when undefined). `revision` pins the read, so the
   * slices of one page all show the same moment.
   */
  async readModels(options: { after?: string; limit: number; revision?: string }): Promise<ModelRange> {
    const prefix = this.keys.modelsPrefix();
    // A NUL byte sorts right after the name itself: the range starts at the next key.
    // No explicit sort: etcd returns key order anyway, and a sorted range makes it read the whole range before applying the limit.
    const start = options.after === undefined ? prefix : `${this.keys.model(options.after)}\0`;
    const builder = this.#etcd.getAll().inRange({ start, end: Range.prefix(prefix).end }).limit(options.limit);
    if (options.revision !== undefined) builder.revision(options.revision);
    const response = await etcdCall(() => builder.exec());
    const last = response.kvs[response.kvs.length - 1];
    return {
      models: this.#parseAll(response.kvs, ModelRecordSchema, 'model', this.#modelMatchesKey),
      lastName: last?.key.toString('utf8').slice(prefix.length),
      more: response.more,
      revision: options.revision ?? response.header.revision,
    };
  }

  /** A model's record, route and version names, read at one revision, for {@link deleteModel}. */
  async readModelTree(model: string): Promise<ModelTree> {
    const modelResponse = await etcdCall(() => this.#etcd.get(this.keys.model(model)).exec());
    const revision = modelResponse.header.revision;
    const modelKv = modelResponse.kvs[0];
    const [routeResponse, versionNames] = await Promise.all([
      etcdCall(() => this.#etcd.get(this.keys.route(model)).revision(revision).exec()),
      this.listVersionNames(model, revision),
    ]);
    return { revision, model: modelKv ? rawRecord(modelKv) : undefined, route: this.#routeRead(routeResponse.kvs[0]), versionNames };
  }

  /**
   * Deletes a model, its route and every version key, and records it in the
   * history, in one transaction that applies only if the model and route keys
   * are still at the revisions read and no version key was written since
   * `expected.readRevision`. One compare covers the whole version range, so
   * the transaction stays within etcd's operation limit however many
   * versions there are. The audit log is not touched: it outlives the model.
   */
  async deleteModel(
    model: string,
    expected: { modelRevision: string; routeRevision: string; readRevision: string },
    history: HistoryEntryRecord,
  ): Promise<boolean> {
    const modelKey = Buffer.from(this.keys.model(model));
    const routeKey = Buffer.from(this.keys.route(model));
    const versions = Range.prefix(this.keys.versionsPrefix(model));
    const result = await etcdCall(() =>
      this.#etcd.kv.txn({
        compare: [
          // An absent key compares as revision 0.
          { key: modelKey, target: CompareTarget.Mod, result: CompareResult.Equal, mod_revision: expected.modelRevision },
          { key: routeKey, target: CompareTarget.Mod, result: CompareResult.Equal, mod_revision: expected.routeRevision },
          {
            key: versions.start,
            range_end: versions.end,
            target: CompareTarget.Mod,
            result: CompareResult.Less,
            mod_revision: (BigInt(expected.readRevision) + 1n).toString(),
          },
        ],
        success: [
          { request_delete_range: { key: modelKey } },
          { request_delete_range: { key: routeKey } },
          { request_delete_range: { key: versions.start, range_end: versions.end } },
          this.#historyPutOp(history),
        ],
        failure: [],
      }),
    );
    return result.succeeded;
  }

  /**
   * Up to `limit` entries of a model's audit log, newest first, starting
   * after (older than) the entry `before` when given. (etcd applies the limit
   * of a descending read after sorting the range server-side; the range ends
   * at `before`, so later pages read less.)
   */
  async readHistory(model: string, options: { before?: string; limit: number }): Promise<HistoryRange> {
    const prefix = this.keys.historyPrefix(model);
    const end = options.before === undefined ? Range.prefix(prefix).end : Buffer.from(this.keys.history(model, options.before));
    const response = await etcdCall(() =>
      this.#etcd.getAll().inRange({ start: prefix, end }).sort('Key', 'Descend').limit(options.limit).exec(),
    );
    const entries: HistoryRange['entries'] = [];
    for (const kv of response.kvs) {
      const id = kv.key.toString('utf8').slice(prefix.length);
      const parsed = this.#parse(kv, HistoryEntryRecordSchema, this.#historyMatchesKey);
      if (parsed.ok) entries.push({ id, record: parsed.stored.value });
      else this.#logInvalid(kv.key.toString('utf8'), 'history entry', parsed.error);
    }
    const last = response.kvs[response.kvs.length - 1];
    return { entries, lastId: last?.key.toString('utf8').slice(prefix.length), more: response.more };
  }

  /**
   * Every live node, control plane and version status, from three prefix
   * reads at one revision. Statuses are returned whatever their node: a
   * status outlives its node by up to a lease TTL, and the caller drops those.
   */
  async readCluster(): Promise<ClusterRead> {
    const nodesResponse = await etcdCall(() => this.#etcd.getAll().prefix(this.keys.nodesPrefix()).exec());
    const revision = nodesResponse.header.revision;
    const [controlPlanesResponse, statusResponse] = await Promise.all([
      etcdCall(() => this.#etcd.getAll().prefix(this.keys.controlPlanesPrefix()).revision(revision).exec()),
      etcdCall(() => this.#etcd.getAll().prefix(this.keys.statusPrefix()).revision(revision).exec()),
    ]);
    return {
      nodes: this.#parseAll(nodesResponse.kvs, NodeRecordSchema, 'node', this.#nodeMatchesKey),
      controlPlanes: this.#parseAll(controlPlanesResponse.kvs, ControlPlaneRecordSchema, 'control plane', this.#controlPlaneMatchesKey),
      statuses: this.#parseAll(statusResponse.kvs, VersionStatusRecordSchema, 'version status', this.#statusMatchesKey),
    };
  }

  #historyKey(entry: HistoryEntryRecord): string {
    return this.keys.history(entry.model, historyEntryId(Date.parse(entry.at)));
  }

  #historyPut(entry: HistoryEntryRecord): ReturnType<Etcd3['put']> {
    return this.#etcd.put(this.#historyKey(entry)).value(JSON.stringify(entry));
  }

  #historyPutOp(entry: HistoryEntryRecord): IRequestOp {
    return { request_put: { key: Buffer.from(this.#historyKey(entry)), value: Buffer.from(JSON.stringify(entry)) } };
  }

  #routeRead(kv: IKeyValue | undefined): RouteRead {
    if (!kv) return { revision: '0' };
    const parsed = this.#parse(kv, RouteRecordSchema, this.#routeMatchesKey);
    if (parsed.ok) return { revision: kv.mod_revision, current: parsed.stored.value };
    this.#logInvalid(kv.key.toString('utf8'), 'route', parsed.error);
    return { revision: kv.mod_revision, invalid: parsed.error };
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

  readonly #modelMatchesKey: KeyCheck<ModelRecord> = (key, value) =>
    key === this.keys.model(value.name) ? undefined : `it names model ${value.name}, not its key`;

  readonly #historyMatchesKey: KeyCheck<HistoryEntryRecord> = (key, value) =>
    key.startsWith(this.keys.historyPrefix(value.model)) ? undefined : `it names model ${value.model}, not its key`;

  readonly #controlPlaneMatchesKey: KeyCheck<ControlPlaneRecord> = (key, value) =>
    key === this.keys.controlPlane(value.id) ? undefined : `it names control plane ${value.id}, not its key`;

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

/** A key's revision and value as JSON, or its raw text when it is not JSON. */
function rawRecord(kv: IKeyValue): RawRecord {
  const text = kv.value.toString('utf8');
  try {
    return { modRevision: kv.mod_revision, value: JSON.parse(text) as unknown };
  } catch {
    return { modRevision: kv.mod_revision, value: text };
  }
}
