import type { HistoryEntryRecord, ModelRecord, VersionRecord } from '@switchyard/core';
import { notRefused, type GuardedWrite } from './etcd-guarded-write.js';
import { EtcdAccess } from './etcd-client.js';
import type { ModelsTable } from './etcd-models.js';
import { rawRecord, type RawRecord, type Stored } from './etcd-read.js';
import type { TableContext } from './etcd-table-context.js';

/** How the model of a new version must look for the write to apply. */
export type ModelCondition =
  /** The model does not exist yet: create it with this record. */
  | { create: ModelRecord }
  /** The model exists with this create revision (i.e. was not deleted and re-created). */
  | { createRevision: string };

/** Outcome of {@link VersionsTable.create}. */
export type CreateVersionOutcome =
  | { status: 'created'; revision: string }
  | { status: 'version-exists' }
  | { status: 'model-changed' };

/**
 * The `target/versions/` table. A version record is written whole when the
 * version is created (deploy-time `validation` included) and afterwards only
 * its retirement fields (`retirement`, `pinned`) change, each time by a
 * guarded write that compares the version's mod revision.
 */
export class VersionsTable {
  constructor(
    private readonly t: TableContext,
    private readonly models: ModelsTable,
  ) {}

  /** One version; undefined when absent. @throws INTERNAL when the stored value is invalid. */
  async get(model: string, version: string): Promise<Stored<VersionRecord> | undefined> {
    const { kv } = await this.t.access.get(this.t.keys.version(model, version));
    return this.t.reader.strict(kv, this.t.kinds.version);
  }

  /** Mod revision of a version key, valid or not; undefined when absent. Lets a broken record be deleted. */
  async revision(model: string, version: string): Promise<string | undefined> {
    return (await this.t.access.get(this.t.keys.version(model, version))).kv?.mod_revision;
  }

  /** A version key's revision and value, valid or not; undefined when absent. */
  async readRaw(model: string, version: string): Promise<RawRecord | undefined> {
    const { kv } = await this.t.access.get(this.t.keys.version(model, version));
    return kv ? rawRecord(kv) : undefined;
  }

  /** Every valid version of a model, or of every model without one, in key order; invalid ones are logged and skipped. */
  async list(model?: string): Promise<Stored<VersionRecord>[]> {
    const { kvs } = await this.t.access.range({ prefix: this.t.keys.versionsPrefix(model) });
    return this.t.reader.allYielding(kvs, this.t.kinds.version);
  }

  /** Names of every version key of a model, valid or not, in key order; at `revision` when given. */
  async names(model: string, revision?: string): Promise<string[]> {
    const prefix = this.t.keys.versionsPrefix(model);
    const keys = await this.t.access.keys(prefix, revision);
    return keys.map((key) => key.slice(prefix.length));
  }

  /**
   * The version names of each of `models`, valid or not, from one range read
   * of their keys at `revision`: a page of ListModels costs one read, not one
   * per model. The range runs from the lowest of their version prefixes to
   * the end of the highest: `name/` does not sort as `name` does (model-1/
   * sorts after model-1-a/), so the first and last model by name do not
   * bound it. Other models' keys inside it are read and left out.
   */
  async namesOfModels(models: readonly string[], revision?: string): Promise<Map<string, string[]>> {
    const names = new Map<string, string[]>(models.map((m) => [m, []]));
    if (models.length === 0) return names;
    const starts = models.map((m) => Buffer.from(this.t.keys.versionsPrefix(m)));
    const ends = models.map((m) => EtcdAccess.prefixEnd(this.t.keys.versionsPrefix(m)));
    const start = starts.reduce((a, b) => (Buffer.compare(a, b) <= 0 ? a : b));
    const end = ends.reduce((a, b) => (Buffer.compare(a, b) >= 0 ? a : b));
    const keys = await this.t.access.rangeKeys({ start: start.toString('utf8'), end }, revision);
    const prefix = this.t.keys.versionsPrefix();
    for (const key of keys) {
      const [model, version] = key.slice(prefix.length).split('/') as [string, string | undefined];
      if (version !== undefined) names.get(model)?.push(version);
    }
    return names;
  }

  /**
   * Writes a new version (and its model, if new) and its history entry in one
   * transaction that applies only if the version key does not exist and the
   * model is as read.
   */
  async create(record: VersionRecord, model: ModelCondition, history: HistoryEntryRecord): Promise<CreateVersionOutcome> {
    const versionKey = this.t.keys.version(record.model, record.version);
    const write = this.t
      .write()
      .expectCreated(versionKey, '0')
      .expectCreated(this.t.keys.model(record.model), 'create' in model ? '0' : model.createRevision)
      .put(versionKey, record)
      .audit(history);
    if ('create' in model) this.models.stage(write, model.create);
    const outcome = notRefused(await write.commit());
    if (outcome.status === 'written') return { status: 'created', revision: outcome.revision };
    return outcome.changed.some((c) => c.key === versionKey) ? { status: 'version-exists' } : { status: 'model-changed' };
  }

  /**
   * Deletes a version, recording it in the history, if neither it nor the
   * model's route changed since they were read. Resolves false when either did.
   */
  async delete(model: string, version: string, expected: { versionRevision: string; routeRevision: string }, history: HistoryEntryRecord): Promise<boolean> {
    const key = this.t.keys.version(model, version);
    const outcome = notRefused(await this.t
      .write()
      .expectRevision(key, expected.versionRevision)
      .expectRevision(this.t.keys.route(model), expected.routeRevision)
      .delete(key)
      .audit(history)
      .commit());
    return outcome.status === 'written';
  }

  /** Adds a rewrite of a stored version to a write, compared on the revision it was read at. */
  stage(write: GuardedWrite, stored: Stored<VersionRecord>, after: VersionRecord): GuardedWrite {
    return write.expectStored(stored).put(stored.key, after);
  }
}
