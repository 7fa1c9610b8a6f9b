import type { ControlPlaneRecord, NodeMemoryRecord, NodeRecord, VersionStatusRecord } from '@switchyard/core';
import { EtcdAccess, type EtcdWatcher } from './etcd-client.js';
import type { Stored } from './etcd-read.js';
import type { TableContext } from './etcd-table-context.js';

/** One live node and its states of one model's versions, read at one revision. */
export interface NodeModelState {
  node: Stored<NodeRecord>;
  statuses: Stored<VersionStatusRecord>[];
}

/** Live nodes and control planes, and one slice of the version statuses, read at one revision. */
export interface ClusterSlice extends ClusterRead {
  /** The last status key read, valid or not, past the prefix; undefined when none was. */
  lastPosition: string | undefined;
  /** Whether status keys remain after the slice. */
  more: boolean;
}

/** Every live node, control plane and version status, read at one revision. */
export interface ClusterRead {
  nodes: Stored<NodeRecord>[];
  controlPlanes: Stored<ControlPlaneRecord>[];
  statuses: Stored<VersionStatusRecord>[];
}

/**
 * What nodes and control planes report about themselves under `runtime/`
 * (each key bound to its writer's lease), read side. The control plane's own
 * registration is written by lease-registration.ts.
 */
export class ClusterTable {
  constructor(private readonly t: TableContext) {}

  /**
   * The live nodes (node keys live exactly as long as their node's lease) and
   * each one's status of the model's versions, all read at one revision so
   * the picture is consistent.
   */
  async modelStates(model: string): Promise<NodeModelState[]> {
    const { keys, access, reader, kinds } = this.t;
    const nodesRead = await access.range({ prefix: keys.nodesPrefix() });
    const nodes = reader.all(nodesRead.kvs, kinds.node);
    return Promise.all(
      nodes.map(async (node) => {
        const { kvs } = await access.range({ prefix: keys.statusPrefix(node.value.id, model) }, { revision: nodesRead.revision });
        return { node, statuses: reader.all(kvs, kinds.status) };
      }),
    );
  }

  /** The live nodes alone, read in pages. */
  async nodes(): Promise<Stored<NodeRecord>[]> {
    const { kvs } = await this.t.access.range({ prefix: this.t.keys.nodesPrefix() });
    return this.t.reader.all(kvs, this.t.kinds.node);
  }

  /** Every node's memory record (runtime/memory/, lease-bound like the node key), read in pages. */
  async memory(): Promise<Stored<NodeMemoryRecord>[]> {
    const { kvs } = await this.t.access.range({ prefix: this.t.keys.nodeMemoryPrefix() });
    return this.t.reader.all(kvs, this.t.kinds.memory);
  }

  /** A watch of the node keys: a node that joins or leaves (its lease expired, or it drained). */
  watchNodes(): EtcdWatcher {
    return this.t.access.watchPrefix(this.t.keys.nodesPrefix());
  }

  /**
   * Every live node, control plane and version status, from three prefix
   * reads at one revision. Statuses are returned whatever their node: a
   * status outlives its node by up to a lease TTL, and the caller drops those.
   */
  async read(): Promise<ClusterRead> {
    const { keys, access, reader, kinds } = this.t;
    const nodesRead = await access.range({ prefix: keys.nodesPrefix() });
    const revision = nodesRead.revision;
    const [controlPlanes, statuses] = await Promise.all([
      access.range({ prefix: keys.controlPlanesPrefix() }, { revision }),
      access.range({ prefix: keys.statusPrefix() }, { revision }),
    ]);
    return {
      nodes: reader.all(nodesRead.kvs, kinds.node),
      controlPlanes: reader.all(controlPlanes.kvs, kinds.controlPlane),
      statuses: await reader.allYielding(statuses.kvs, kinds.status),
    };
  }

  /**
   * The live nodes and control planes, and at most `limit` version statuses
   * whose key follows `after` (a key past the status prefix: node/model/version),
   * at one revision: one page of GetClusterStatus' detail costs a page, however
   * many statuses there are.
   */
  async slice(after: string, limit: number): Promise<ClusterSlice> {
    const { keys, access, reader, kinds } = this.t;
    const nodesRead = await access.range({ prefix: keys.nodesPrefix() });
    const revision = nodesRead.revision;
    const prefix = keys.statusPrefix();
    const [controlPlanes, statuses] = await Promise.all([
      access.range({ prefix: keys.controlPlanesPrefix() }, { revision }),
      access.range({ start: `${prefix}${after}\0`, end: EtcdAccess.prefixEnd(prefix) }, { revision, limit }),
    ]);
    const last = statuses.kvs[statuses.kvs.length - 1];
    return {
      nodes: reader.all(nodesRead.kvs, kinds.node),
      controlPlanes: reader.all(controlPlanes.kvs, kinds.controlPlane),
      statuses: reader.all(statuses.kvs, kinds.status),
      lastPosition: last ? last.key.toString('utf8').slice(prefix.length) : undefined,
      more: statuses.more,
    };
  }
}
