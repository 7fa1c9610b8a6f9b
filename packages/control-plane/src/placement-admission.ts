import { resourceExhausted } from '@switchyard/core';
import type { EtcdTables } from './etcd-tables.js';
import { formatBytes } from './format-bytes.js';
import { placementNodes } from './placement-inputs.js';
import { DEFAULT_MEMORY_FACTOR } from './placement-cost.js';

/**
 * Refuses, at deploy, a version no node could ever hold (issue #16): its
 * artifact alone is more than the largest share of a node's budget the
 * placer fills. The artifact's size is the floor of what a loaded copy
 * costs (onnxruntime holds the weights), so nothing that could fit is
 * refused; a version between that floor and its estimate is accepted, and
 * its placement says why it has no copy. Nodes without a known budget are
 * not counted; with none, nothing is refused.
 * @throws RESOURCE_EXHAUSTED giving the sizes.
 */
export async function checkFitsSomeNode(tables: EtcdTables, what: string, artifactBytes: number, fillRatio: number): Promise<void> {
  // The node keys alone: every version status is not needed to know the budgets.
  const [live, memory] = await Promise.all([tables.cluster.nodes(), tables.cluster.memory()]);
  // A draining node counts: in a rolling restart it comes back with the same budget.
  const nodes = placementNodes({ nodes: live.map((n) => n.value), memory: memory.map((m) => m.value) });
  const largest = Math.max(0, ...nodes.map((n) => n.budgetBytes));
  if (largest === 0) return;
  const usable = Math.floor(largest * fillRatio);
  if (artifactBytes <= usable) return;
  throw resourceExhausted(
    `${what} cannot be loaded on any node: its artifact is ${formatBytes(artifactBytes)} (a loaded copy takes at least that, about ${formatBytes(Math.ceil(artifactBytes * DEFAULT_MEMORY_FACTOR))} estimated), ` +
      `and the largest node memory budget is ${formatBytes(largest)}, of which placement fills ${formatBytes(usable)}; ` +
      'start a node with a larger --memory-budget, or deploy a smaller model',
  );
}

/** The largest memory any live node measured for each version of a model (issue #16), by version name. */
export async function measuredMemory(tables: EtcdTables, model: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const { statuses } of await tables.cluster.modelStates(model)) {
    for (const { value } of statuses) {
      if (value.memoryBytes !== undefined) out.set(value.version, Math.max(out.get(value.version) ?? 0, value.memoryBytes));
    }
  }
  return out;
}
