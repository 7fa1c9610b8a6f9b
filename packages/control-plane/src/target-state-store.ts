import type {
  HistoryEntryRecord,
  KeyLayout,
  Logger,
  ModelRecord,
  RouteRecord,
  VersionRecord,
} from '@switchyard/core';
import type { HistoryRange } from './etcd-audit.js';
import type { EtcdClient } from './etcd-client.js';
import type { ClusterRead, ClusterSlice, NodeModelState } from './etcd-cluster.js';
import type { CreateModelOutcome, ModelRange } from './etcd-models.js';
import type { RawRecord, Stored } from './etcd-read.js';
import type { PutRouteOutcome, RouteRead } from './etcd-routes.js';
import { EtcdTables } from './etcd-tables.js';
import type { CreateVersionOutcome, ModelCondition } from './etcd-versions.js';

export type { ClusterRead, ClusterSlice, CreateModelOutcome, CreateVersionOutcome, HistoryRange, ModelCondition, ModelRange, NodeModelState, PutRouteOutcome, RawRecord, RouteRead, Stored };

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

/** Options for {@link TargetStateStore}. */
export interface TargetStateStoreOptions {
  etcd: EtcdClient;
  keys: KeyLayout;
  logger: Logger;
  /** Newest audit entries kept per model. @default 1000 */
  historyLimit?: number;
}

/**
 * The admin API's view of etcd: the operations of the tables (etcd-tables.ts)
 * under the names the admin code uses. Writes are guarded writes: each
 * compares the revisions of what was read, so two admins editing at once can
 * never silently overwrite each other, and appends its audit entry in the
 * same transaction. `tables` is the same layer for leader-only work.
 */
export class TargetStateStore {
  readonly keys: KeyLayout;
  readonly tables: EtcdTables;

  constructor(options: TargetStateStoreOptions) {
    this.keys = options.keys;
    this.tables = new EtcdTables(options);
  }

  /** The model's record; undefined when absent. @throws INTERNAL when the stored value is invalid. */
  getModel(model: string): Promise<Stored<ModelRecord> | undefined> {
    return this.tables.models.get(model);
  }

  /** One version; undefined when absent. @throws INTERNAL when the stored value is invalid. */
  getVersion(model: string, version: string): Promise<Stored<VersionRecord> | undefined> {
    return this.tables.versions.get(model, version);
  }

  /** Mod revision of a version key, valid or not; undefined when absent. Lets a broken record be deleted. */
  versionRevision(model: string, version: string): Promise<string | undefined> {
    return this.tables.versions.revision(model, version);
  }

  /** Every valid version of a model, in etcd key order; invalid ones are logged and skipped. */
  listVersions(model: string): Promise<Stored<VersionRecord>[]> {
    return this.tables.versions.list(model);
  }

  /**
   * Names of every version key of a model, valid or not, in key order: what an
   * automatic name must avoid. `revision` reads them as they were then.
   */
  listVersionNames(model: string, revision?: string): Promise<string[]> {
    return this.tables.versions.names(model, revision);
  }

  /** See {@link VersionsTable.namesOfModels}. */
  listVersionNamesOfModels(models: readonly string[], revision?: string): Promise<Map<string, string[]>> {
    return this.tables.versions.namesOfModels(models, revision);
  }

  /** A version key's revision and value, valid or not; undefined when absent. Lets a broken record be deleted and still be recorded. */
  readVersionRaw(model: string, version: string): Promise<RawRecord | undefined> {
    return this.tables.versions.readRaw(model, version);
  }

  /** See {@link VersionsTable.create}. */
  createVersion(record: VersionRecord, model: ModelCondition, history: HistoryEntryRecord): Promise<CreateVersionOutcome> {
    return this.tables.versions.create(record, model, history);
  }

  /** See {@link VersionsTable.delete}. */
  deleteVersion(model: string, version: string, expected: { versionRevision: string; routeRevision: string }, history: HistoryEntryRecord): Promise<boolean> {
    return this.tables.versions.delete(model, version, expected, history);
  }

  /** The model's route; undefined when absent. @throws INTERNAL when the stored value is invalid. */
  getRoute(model: string): Promise<Stored<RouteRecord> | undefined> {
    return this.tables.routes.get(model);
  }

  /** The route and its revision, e.g. for a conditional update; an invalid stored value is logged and reported, not thrown. */
  readRoute(model: string): Promise<RouteRead> {
    return this.tables.routes.read(model);
  }

  /** See {@link RoutesTable.put}. */
  putRoute(record: RouteRecord, expectedRevision: string, versions: ReadonlyMap<string, string>, history: HistoryEntryRecord): Promise<PutRouteOutcome> {
    return this.tables.routes.put(record, expectedRevision, versions, history);
  }

  /** See {@link ClusterTable.modelStates}. */
  readModelStates(model: string): Promise<NodeModelState[]> {
    return this.tables.cluster.modelStates(model);
  }

  /** See {@link ModelsTable.create}. */
  createModel(record: ModelRecord, history: HistoryEntryRecord): Promise<CreateModelOutcome> {
    return this.tables.models.create(record, history);
  }

  /** See {@link ModelsTable.update}. */
  updateModel(record: ModelRecord, expectedRevision: string, history: HistoryEntryRecord): Promise<string | undefined> {
    return this.tables.models.update(record, expectedRevision, history);
  }

  /** See {@link ModelsTable.readRange}. */
  readModels(options: { after?: string; limit: number; revision?: string }): Promise<ModelRange> {
    return this.tables.models.readRange(options);
  }

  /** A model's record, route and version names, read at one revision, for {@link deleteModel}. */
  async readModelTree(model: string): Promise<ModelTree> {
    const { revision, raw } = await this.tables.models.readRaw(model);
    const [route, versionNames] = await Promise.all([this.tables.routes.read(model, revision), this.tables.versions.names(model, revision)]);
    return { revision, model: raw, route, versionNames };
  }

  /** See {@link ModelsTable.delete}. */
  deleteModel(model: string, expected: { modelRevision: string; routeRevision: string; readRevision: string }, history: HistoryEntryRecord): Promise<boolean> {
    return this.tables.models.delete(model, expected, history);
  }

  /** See {@link AuditTable.read}. */
  readHistory(model: string, options: { before?: string; limit: number }): Promise<HistoryRange> {
    return this.tables.audit.read(model, options);
  }

  /** See {@link ClusterTable.read}. */
  readCluster(): Promise<ClusterRead> {
    return this.tables.cluster.read();
  }

  /** See {@link ClusterTable.slice}. */
  readClusterSlice(after: string, limit: number): Promise<ClusterSlice> {
    return this.tables.cluster.slice(after, limit);
  }
}
