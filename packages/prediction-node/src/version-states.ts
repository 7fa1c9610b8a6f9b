import type { VersionStatusRecord } from '@switchyard/core';
import type { StatusSink } from './reconciler.js';

type Status = Omit<VersionStatusRecord, 'nodeId' | 'updatedAt'>;

/** One version's state on this node as Triton's repository index names it. */
export interface LocalVersionState {
  model: string;
  version: string;
  /** Triton's model states: LOADING, READY, UNLOADING, UNAVAILABLE (a load failed). */
  state: 'LOADING' | 'READY' | 'UNLOADING' | 'UNAVAILABLE';
  /** Why it is in that state: the load error of an UNAVAILABLE version; '' otherwise. */
  reason: string;
}

const TRITON_STATE: Record<string, LocalVersionState['state']> = { LOADING: 'LOADING', READY: 'READY', UNLOADING: 'UNLOADING', FAILED: 'UNAVAILABLE' };

/**
 * The state of every version on this node, as the reconciler reports it,
 * kept in memory for the repository index; every report also goes on to
 * the sink it wraps (etcd status keys).
 */
export class LocalVersionStates implements StatusSink {
  private readonly states = new Map<string, LocalVersionState>();

  constructor(private readonly inner: StatusSink) {}

  report(status: Status): void {
    this.states.set(`${status.model}/${status.version}`, {
      model: status.model,
      version: status.version,
      state: TRITON_STATE[status.state] ?? 'UNAVAILABLE',
      reason: status.state === 'FAILED' ? status.error : '',
    });
    this.inner.report(status);
  }

  clear(model: string, version: string): void {
    this.states.delete(`${model}/${version}`);
    this.inner.clear(model, version);
  }

  /** Every version the node holds or is working on, by model then version. */
  list(): LocalVersionState[] {
    return [...this.states.values()].sort((a, b) => (a.model < b.model ? -1 : a.model > b.model ? 1 : a.version < b.version ? -1 : a.version > b.version ? 1 : 0));
  }
}
