import type { HistoryEntryRecord, ModelRecord } from '@switchyard/core';
import { EtcdAccess, type EtcdWatcher } from './etcd-client.js';
import { notRefused, type GuardedWrite } from './etcd-guarded-write.js';
import { rawRecord, type RawRecord, type Stored } from './etcd-read.js';
import type { TableContext } from './etcd-table-context.js';

/** Outcome of {@link ModelsTable.create}. */
export type CreateModelOutcome = { status: 'created'; revision: string } | { status: 'exists' };

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

/** The `target/models/` table: one ModelRecord per model. */
export class ModelsTable {
  constructor(private readonly t: TableContext) {}

  /** The model's record; undefined when absent. @throws INTERNAL when the stored value is invalid. */
  async get(model: string): Promise<Stored<ModelRecord> | undefined> {
    const { kv } = await this.t.access.get(this.t.keys.model(model));
    return this.t.reader.strict(kv, this.t.kinds.model);
  }

  /** The model key as stored, valid or not, read at `revision` when given; undefined when absent. */
  async readRaw(model: string, revision?: string): Promise<{ revision: string; raw: RawRecord | undefined }> {
    const { kv, revision: at } = await this.t.access.get(this.t.keys.model(model), revision);
    return { revision: at, raw: kv ? rawRecord(kv) : undefined };
  }

  /** Every valid model (invalid ones are logged and skipped), or the one named. */
  async list(model?: string): Promise<Stored<ModelRecord>[]> {
    const kvs =
      model === undefined
        ? (await this.t.access.range({ prefix: this.t.keys.modelsPrefix() })).kvs
        : [(await this.t.access.get(this.t.keys.model(model))).kv].filter((kv) => kv !== undefined);
    return this.t.reader.allYielding(kvs, this.t.kinds.model);
  }

  /**
   * Up to `limit` model keys in name order, starting after the model named
   * `after` (from the first when undefined). `revision` pins the read, so the
   * slices of one page all show the same moment.
   */
  async readRange(options: { after?: string; limit: number; revision?: string }): Promise<ModelRange> {
    const prefix = this.t.keys.modelsPrefix();
    // A NUL byte sorts right after the name itself: the range starts at the next key.
    const start = options.after === undefined ? prefix : `${this.t.keys.model(options.after)}\0`;
    const read = await this.t.access.range({ start, end: EtcdAccess.prefixEnd(prefix) }, { limit: options.limit, revision: options.revision });
    const last = read.kvs[read.kvs.length - 1];
    return {
      models: this.t.reader.all(read.kvs, this.t.kinds.model),
      lastName: last?.key.toString('utf8').slice(prefix.length),
      more: read.more,
      revision: options.revision ?? read.revision,
    };
  }

  /** Writes a new model and its history entry if no model of that name exists. */
  async create(record: ModelRecord, history: HistoryEntryRecord): Promise<CreateModelOutcome> {
    const write = this.t.write().expectRevision(this.t.keys.model(record.name), '0');
    const outcome = notRefused(await this.stage(write, record).audit(history).commit());
    return outcome.status === 'written' ? { status: 'created', revision: outcome.revision } : { status: 'exists' };
  }

  /**
   * Replaces a model record, with its history entry, if the model key is still
   * at `expectedRevision`. Resolves the new revision, or undefined when the
   * model changed (or vanished) since it was read.
   */
  async update(record: ModelRecord, expectedRevision: string, history: HistoryEntryRecord): Promise<string | undefined> {
    const write = this.t.write().expectRevision(this.t.keys.model(record.name), expectedRevision);
    const outcome = notRefused(await this.stage(write, record).audit(history).commit());
    return outcome.status === 'written' ? outcome.revision : undefined;
  }

  /**
   * Deletes a model, its route and every version key, and records it in the
   * history, in one transaction that applies only if the model and route keys
   * are still at the revisions read and no version key was written since
   * `expected.readRevision`. One compare covers the whole version range, so
   * the transaction stays within etcd's operation limit however many
   * versions there are. The audit log is not touched: it outlives the model.
   */
  async delete(
    model: string,
    expected: { modelRevision: string; routeRevision: string; readRevision: string },
    history: HistoryEntryRecord,
  ): Promise<boolean> {
    const { keys } = this.t;
    const outcome = notRefused(await this.t
      .write()
      .expectRevision(keys.model(model), expected.modelRevision)
      .expectRevision(keys.route(model), expected.routeRevision)
      .expectUnchangedSince(keys.versionsPrefix(model), expected.readRevision)
      .delete(keys.model(model))
      .delete(keys.route(model))
      .deletePrefix(keys.versionsPrefix(model))
      .audit(history)
      .commit());
    return outcome.status === 'written';
  }

  /** A watch of every model key (placement settings live on the model). */
  watch(): EtcdWatcher {
    return this.t.access.watchPrefix(this.t.keys.modelsPrefix());
  }

  /** Adds the model record's put to a write; the caller adds the compares it was decided from. */
  stage(write: GuardedWrite, record: ModelRecord): GuardedWrite {
    return write.put(this.t.keys.model(record.name), record);
  }
}

