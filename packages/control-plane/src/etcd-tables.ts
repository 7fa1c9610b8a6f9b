import type { KeyLayout, Logger } from '@switchyard/core';
import { AuditTable } from './etcd-audit.js';
import { EtcdAccess, type EtcdClient } from './etcd-client.js';
import { ClusterTable } from './etcd-cluster.js';
import { FiguresTable } from './etcd-figures.js';
import type { GuardedWrite } from './etcd-guarded-write.js';
import { ModelsTable } from './etcd-models.js';
import { PlacementsTable } from './etcd-placements.js';
import { PrefixView, type PrefixViewOptions } from './etcd-prefix-view.js';
import { RecordReader, type RecordKind } from './etcd-read.js';
import { recordKinds, type RecordKinds } from './etcd-records.js';
import { RoutesTable } from './etcd-routes.js';
import { TableContext } from './etcd-table-context.js';
import { VersionsTable } from './etcd-versions.js';

/** Options for {@link EtcdTables}. */
export interface EtcdTablesOptions {
  etcd: EtcdClient;
  keys: KeyLayout;
  /** Where refused (invalid) stored records are logged. */
  logger: Logger;
  /** Newest audit entries kept per model. @default DEFAULT_HISTORY_LIMIT (1000) */
  historyLimit?: number;
}

/**
 * The control plane's access to etcd, one table per record kind. Reads parse
 * and check every record (etcd-read.ts); writes of `target/` are guarded
 * writes (etcd-guarded-write.ts); every call goes through etcd-client.ts,
 * which converts etcd's errors. The admin API, the rollout controller, the
 * shadow keeper, the retirement sweeper and the placer all use it; the tables hold no
 * state, so two instances over one client are interchangeable.
 */
export class EtcdTables {
  readonly keys: KeyLayout;
  readonly access: EtcdAccess;
  readonly models: ModelsTable;
  readonly versions: VersionsTable;
  readonly routes: RoutesTable;
  readonly placements: PlacementsTable;
  readonly audit: AuditTable;
  readonly figures: FiguresTable;
  readonly cluster: ClusterTable;
  readonly #context: TableContext;
  readonly #logger: Logger;

  constructor(options: EtcdTablesOptions) {
    this.keys = options.keys;
    this.access = new EtcdAccess(options.etcd);
    const logger = options.logger;
    this.#logger = logger;
    // Each write trims its models' logs alongside; a failed trim is tried again by the model's next write.
    const trim = async (models: readonly string[]): Promise<void> => {
      for (const model of models) {
        await this.audit.trim(model).catch((err: unknown) => logger.warn('could not trim the audit log', { model, error: String(err) }));
      }
    };
    this.#context = new TableContext(this.access, options.keys, recordKinds(options.keys), new RecordReader(logger), trim);
    this.models = new ModelsTable(this.#context);
    this.versions = new VersionsTable(this.#context, this.models);
    this.routes = new RoutesTable(this.#context);
    this.placements = new PlacementsTable(this.#context);
    this.audit = new AuditTable(this.#context, options.historyLimit);
    this.figures = new FiguresTable(this.#context);
    this.cluster = new ClusterTable(this.#context);
  }

  /**
   * A watch-fed copy of the valid records of one kind under `prefix`
   * (etcd-prefix-view.ts), closed until opened.
   */
  view<K extends keyof RecordKinds, P = RecordOf<K>>(
    prefix: string,
    kind: K,
    options: Omit<PrefixViewOptions<RecordOf<K>, P>, 'access' | 'reader' | 'prefix' | 'kind' | 'logger'>,
  ): PrefixView<RecordOf<K>, P> {
    const recordKind = this.#context.kinds[kind] as unknown as RecordKind<RecordOf<K>>;
    return new PrefixView<RecordOf<K>, P>({ ...options, access: this.access, reader: this.#context.reader, prefix, kind: recordKind, logger: this.#logger });
  }

  /** A new guarded write of `target/`: stage changes through the tables' `stage` methods, then commit. */
  write(): GuardedWrite {
    return this.#context.write();
  }
}

/** The record type of one kind of {@link RecordKinds}. */
export type RecordOf<K extends keyof RecordKinds> = RecordKinds[K] extends RecordKind<infer T> ? T : never;
