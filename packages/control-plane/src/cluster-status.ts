import type { ClusterStatusMessage, ModelVersionStateMessage, NodeMemoryRecord } from '@switchyard/core';
import type { Stored } from './etcd-read.js';
import { controlPlaneToMessage, nodeInfoToMessage, versionStateToMessage } from './admin-messages.js';
import type { ClusterRead } from './target-state-store.js';
import { compareVersionNames } from './version-names.js';

const byText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * GetClusterStatus' answer from one consistent read: each live node with its
 * states of every version of every model, and the control planes. Statuses
 * of a node whose registration is gone (its lease expired, its status keys
 * not yet) are left out, as GetModelStatus does. Each node's memory comes
 * from its memory record (issue #16), when it publishes one.
 */
export function clusterStatusMessage(read: ClusterRead, memory: readonly Stored<NodeMemoryRecord>[] = []): ClusterStatusMessage {
  const memoryOf = new Map(memory.map((m) => [m.value.nodeId, m.value]));
  const states = new Map<string, ModelVersionStateMessage[]>();
  for (const { value } of read.statuses) {
    let list = states.get(value.nodeId);
    if (!list) states.set(value.nodeId, (list = []));
    list.push({ model: value.model, state: versionStateToMessage(value) });
  }
  const nodes = read.nodes
    .map(({ value }) => ({
      node: nodeInfoToMessage(value, memoryOf.get(value.id)),
      versions: (states.get(value.id) ?? []).sort((a, b) => byText(a.model, b.model) || compareVersionNames(a.state.version, b.state.version)),
    }))
    .sort((a, b) => byText(a.node.node_id, b.node.node_id));
  const controlPlanes = read.controlPlanes.map(({ value }) => controlPlaneToMessage(value)).sort((a, b) => byText(a.id, b.id));
  return { nodes, control_planes: controlPlanes };
}
