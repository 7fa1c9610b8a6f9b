import type { KeyLayout } from '@switchyard/core';
import type { EtcdAccess } from './etcd-client.js';
import { GuardedWrite } from './etcd-guarded-write.js';
import type { RecordReader } from './etcd-read.js';
import type { RecordKinds } from './etcd-records.js';

/** What every table of the layer shares: the etcd boundary, the key layout, the record kinds and the reader. */
export class TableContext {
  constructor(
    readonly access: EtcdAccess,
    readonly keys: KeyLayout,
    readonly kinds: RecordKinds,
    readonly reader: RecordReader,
    /** Runs alongside every guarded write's transaction, with the models it audits (the audit log's trim). */
    readonly alongside?: (models: readonly string[]) => Promise<void>,
  ) {}

  /** A new guarded write of `target/`. */
  write(): GuardedWrite {
    return new GuardedWrite(this.access, this.keys, this.kinds, this.alongside);
  }
}
