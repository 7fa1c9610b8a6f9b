import type {
  ClusterStatusMessage,
  GetClusterStatusRequest,
  ModelVersionStateMessage,
  NodeMemoryRecord,
  NodeRecord,
  NodeStatusMessage,
  VersionCountsMessage,
  VersionStatusRecord,
} from '@switchyard/core';
import { controlPlaneToMessage, nodeInfoToMessage, versionStateToMessage } from './admin-messages.js';
import type { Stored } from './etcd-read.js';
import { decodePageToken, encodePageToken, fillPage, resolvePageSize, type PageLimits } from './page-tokens.js';
import type { ClusterRead, TargetStateStore } from './target-state-store.js';

/** GetClusterStatus' detail: 1,000 node × version states a page unless asked otherwise, never more than 5,000. */
export const CLUSTER_STATUS_PAGE_LIMITS: PageLimits = { default: 1000, max: 5000 };

/** Errors listed per node in the summary; the rest are counted, and paged in the detail. */
export const ERRORS_PER_NODE = 20;

/** A status key past the status prefix: node/model/version. */
const STATUS_POSITION = /^[^/]+\/[^/]+\/[^/]+$/;

const byText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

interface Entry {
  /** The status key past the prefix, which a page token resumes after. */
  position: string;
  nodeId: string;
  state: ModelVersionStateMessage;
}

/**
 * One page of GetClusterStatus. The first page reads every status (in
 * pages, at one revision) to count each live node's versions by state, so
 * its size grows with the number of nodes only; the node × version detail
 * comes in pages by status key, each read as a slice of keys. Statuses of a
 * node whose registration is gone (its lease expired, its status keys not
 * yet) are left out, as GetModelStatus does.
 */
export async function clusterStatus(state: TargetStateStore, request: Partial<GetClusterStatusRequest>): Promise<ClusterStatusMessage> {
  const pageSize = resolvePageSize(request.page_size ?? 0, CLUSTER_STATUS_PAGE_LIMITS);
  const after = decodePageToken('GetClusterStatus', request.page_token ?? '', (p) => STATUS_POSITION.test(p));
  if (after === undefined) {
    const [read, memory] = await Promise.all([state.readCluster(), state.tables.cluster.memory()]);
    return firstPage(read, memory, request.summary_only === true ? 0 : pageSize);
  }
  const [slice, memory] = await Promise.all([state.readClusterSlice(after, pageSize), state.tables.cluster.memory()]);
  const live = liveNodes(slice.nodes, memory);
  const { page, more } = fillPage(entries(slice.statuses, live), pageSize);
  // Statuses of gone nodes are skipped, so a page may come out short; the token still moves past what was read.
  const last = more ? page[page.length - 1]?.position : slice.lastPosition;
  return {
    nodes: nodeMessages(live, page, false),
    control_planes: controlPlanes(slice),
    next_page_token: (more || slice.more) && last !== undefined ? encodePageToken(last) : '',
  };
}

function firstPage(read: ClusterRead, memory: readonly Stored<NodeMemoryRecord>[], pageSize: number): ClusterStatusMessage {
  const live = liveNodes(read.nodes, memory);
  const all = [...entries(read.statuses, live)];
  const { page, more } = pageSize === 0 ? { page: [], more: false } : fillPage(all, pageSize);
  const nodes = nodeMessages(live, page, true);
  const byId = new Map(nodes.map((n) => [n.node.node_id, n]));
  for (const entry of all) {
    const node = byId.get(entry.nodeId)!;
    count(node.counts!, entry.state.state.state);
    if (entry.state.state.error && node.errors.length < ERRORS_PER_NODE) node.errors.push(entry.state);
  }
  const last = page[page.length - 1];
  return { nodes, control_planes: controlPlanes(read), next_page_token: more && last ? encodePageToken(last.position) : '' };
}

/** A live node's record, and its memory record (issue #16) when it publishes one. */
interface LiveNode {
  record: NodeRecord;
  memory: NodeMemoryRecord | undefined;
}

function liveNodes(nodes: readonly Stored<NodeRecord>[], memory: readonly Stored<NodeMemoryRecord>[]): Map<string, LiveNode> {
  const memoryOf = new Map(memory.map((m) => [m.value.nodeId, m.value]));
  return new Map(nodes.map(({ value }) => [value.id, { record: value, memory: memoryOf.get(value.id) }]));
}

/** The statuses of live nodes, in key order (node, model, version key). */
function* entries(statuses: readonly Stored<VersionStatusRecord>[], live: ReadonlyMap<string, LiveNode>): Iterable<Entry> {
  for (const { key, value } of statuses) {
    if (!live.has(value.nodeId)) continue;
    const position = `${value.nodeId}/${value.model}/${value.version}`;
    // The key names what it holds (the reader checks it); take the position from it all the same, so a token always moves forward.
    yield { position: key.slice(key.length - position.length), nodeId: value.nodeId, state: { model: value.model, state: versionStateToMessage(value) } };
  }
}

/** Each node with its share of the page; with `all`, every live node, with counts to fill in. */
function nodeMessages(live: ReadonlyMap<string, LiveNode>, page: readonly Entry[], all: boolean): NodeStatusMessage[] {
  const nodes = new Map<string, NodeStatusMessage>();
  const add = ({ record, memory }: LiveNode): NodeStatusMessage => {
    const node: NodeStatusMessage = { node: nodeInfoToMessage(record, memory), versions: [], counts: all ? emptyCounts() : null, errors: [] };
    nodes.set(record.id, node);
    return node;
  };
  if (all) for (const record of live.values()) add(record);
  for (const entry of page) (nodes.get(entry.nodeId) ?? add(live.get(entry.nodeId)!)).versions.push(entry.state);
  return [...nodes.values()].sort((a, b) => byText(a.node.node_id, b.node.node_id));
}

function controlPlanes(read: Pick<ClusterRead, 'controlPlanes'>): ClusterStatusMessage['control_planes'] {
  return read.controlPlanes.map(({ value }) => controlPlaneToMessage(value)).sort((a, b) => byText(a.id, b.id));
}

function emptyCounts(): VersionCountsMessage {
  return { total: 0, ready: 0, loading: 0, failed: 0, other: 0 };
}

function count(counts: VersionCountsMessage, state: string): void {
  counts.total++;
  if (state === 'READY') counts.ready++;
  else if (state === 'LOADING') counts.loading++;
  else if (state === 'FAILED') counts.failed++;
  else counts.other++;
}
