/**
 * Which nodes hold each `model/version` READY, as the nodes' cluster view
 * and the client's placement view index `runtime/status/`: one array of
 * node ids per version, replaced whole (never changed in place) when a node
 * starts or stops holding it, and no entry for a version nobody holds.
 */
export function setReadyHolder(holders: Map<string, readonly string[]>, key: string, nodeId: string, holds: boolean): void {
  const current = holders.get(key) ?? [];
  if (current.includes(nodeId) === holds) return;
  const next = holds ? [...current, nodeId] : current.filter((id) => id !== nodeId);
  if (next.length === 0) holders.delete(key);
  else holders.set(key, Object.freeze(next));
}
