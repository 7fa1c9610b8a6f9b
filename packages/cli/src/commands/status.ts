import { Command } from 'commander';
import type { ClusterStatusMessage, ModelStatusMessage, ModelVersionStateMessage, NodeInfoMessage, VersionCountsMessage, VersionMessage } from '@switchyard/core';
import { formatBytes } from '../byte-size.js';
import { addClientOptions, type ClientFlags } from '../client-options.js';
import { withAdmin } from '../client-connection.js';
import { newTable, printJson, printLine } from '../output-format.js';
import { formatSplits } from '../route-splits.js';
import { formatExpiresIn } from './versions.js';

export function statusCommand(): Command {
  return addClientOptions(new Command('status'))
    .description("with a model: its route, every live node's state of each of its versions and where each version's copies are placed; without: every node (memory used of budget, versions held) and control plane")
    .argument('[model]', 'model name (omit for the whole cluster)')
    .option('--versions', "without a model: list every node's versions, one per line, after the per-node summary")
    .action(async (model: string | undefined, flags: ClientFlags & { versions?: boolean }, command: Command) => {
      if (model === undefined) {
        // The summary is one small page however many versions are loaded; only --versions pages through the detail.
        const cluster = await withAdmin(command, (admin) => (flags.versions === true ? admin.getClusterStatus() : admin.getClusterStatusPage({ summary_only: true })));
        if (flags.output === 'json') printJson(cluster);
        else printLine(formatClusterStatus(cluster, { versions: flags.versions === true }));
        return;
      }
      const status = await withAdmin(command, (admin) => admin.getModelStatus(model));
      if (flags.output === 'json') printJson(status);
      else {
        printLine(formatStatus(status));
        // Last use and expiry (issue #6); a model without versions has none to show.
        const versions = await withAdmin(command, (admin) => admin.listVersions(model)).catch(() => undefined);
        if (versions && versions.versions.length > 0) printLine(formatVersionUse(versions.versions));
      }
    });
}

export function formatStatus(status: ModelStatusMessage): string {
  const route = status.route;
  const split =
    route && route.splits.length > 0
      ? `${formatSplits(route.splits)} (revision ${route.revision}, updated ${route.updated_at})`
      : 'none (no traffic; deploy a version or set a route)';
  const lines = [`model: ${status.model}`, `route: ${split}`];
  if (status.nodes.length === 0) {
    lines.push('nodes: none live; start one with `switchyard node` or `switchyard up`');
    return lines.join('\n');
  }
  const table = newTable(['NODE', 'ADDRESS', 'VERSION', 'STATE', 'LOAD MS', 'MEMORY', 'ERROR']);
  for (const node of status.nodes) {
    if (node.versions.length === 0) table.push([node.node_id, node.address, '-', '-', '', '', '']);
    for (const v of node.versions) {
      const memory = Number(v.memory_bytes ?? 0);
      table.push([node.node_id, node.address, v.version, v.state, v.load_ms ? Math.round(v.load_ms).toString() : '', memory > 0 ? formatBytes(memory) : '', v.error]);
    }
  }
  lines.push(table.toString());
  const placements = formatPlacements(status);
  if (placements) lines.push(placements);
  return lines.join('\n');
}

/** Where each routed version is kept loaded, what a copy costs, and why fewer copies than wanted (issue #16). */
export function formatPlacements(status: ModelStatusMessage): string | undefined {
  if (!status.placements || status.placements.length === 0) return undefined;
  const table = newTable(['VERSION', 'COPIES ON', 'WANTED', 'EACH', 'WHY FEWER']);
  for (const p of status.placements) {
    const nodes = p.copies.map((c) => c.node_id).join(', ') || 'none (loads on its next request)';
    table.push([p.version, nodes, String(p.wanted_copies), formatBytes(Number(p.estimated_bytes)), p.reason]);
  }
  return `placement (docs/placement.md):\n${table.toString()}`;
}

/** "30.0 MiB of 1.50 GiB"; "-" when the node publishes no budget (a node from before budgets). */
export function formatNodeMemory(node: NodeInfoMessage): string {
  const budget = Number(node.memory_budget_bytes ?? 0);
  const used = Number(node.memory_used_bytes ?? 0);
  if (budget === 0) return used > 0 ? `${formatBytes(used)} (no budget)` : '-';
  return `${formatBytes(used)} of ${formatBytes(budget)}`;
}

/**
 * One row per live node, however many versions it holds: its versions
 * counted by state (a column per version stopped being readable at a few
 * dozen versions, and was 33,222 characters wide at 1,000). With `versions`,
 * then one line per node and version. Errors of FAILED versions and the
 * control planes follow.
 */
export function formatClusterStatus(cluster: ClusterStatusMessage, options: { versions?: boolean } = {}): string {
  const lines: string[] = [];
  if (cluster.nodes.length === 0) {
    lines.push('nodes: none live; start one with `switchyard node` or `switchyard up`');
  } else {
    const table = newTable(['NODE', 'ADDRESS', 'REST', 'BUILD', 'MEMORY', 'VERSIONS', 'READY', 'LOADING', 'FAILED', 'OTHER']);
    const failures: string[] = [];
    for (const status of cluster.nodes) {
      const { node } = status;
      const counts = status.counts ?? countStates(status.versions);
      table.push([node.draining ? `${node.node_id} (draining)` : node.node_id, node.address, node.http_address || '-', node.build_version, formatNodeMemory(node), counts.total, counts.ready, counts.loading, counts.failed, counts.other].map(String));
      // The server lists the first errors of each node; a page without the summary has only its own versions to go by.
      const errors = status.counts ? status.errors : status.versions.filter((v) => v.state.error);
      for (const v of errors) failures.push(`  ${node.node_id} ${v.model}:${v.state.version} ${v.state.state}: ${v.state.error}`);
      if (status.counts && errors.length >= SERVER_ERRORS_PER_NODE) failures.push(`  ${node.node_id}: only its first ${SERVER_ERRORS_PER_NODE} errors are listed; see switchyard status --versions`);
    }
    lines.push(`nodes (${cluster.nodes.length}):`, table.toString());
    if (options.versions) {
      const detail = newTable(['NODE', 'MODEL', 'VERSION', 'STATE', 'LOAD MS', 'MEMORY']);
      for (const { node, versions } of cluster.nodes) {
        const sorted = [...versions].sort((a, b) => (a.model === b.model ? a.state.version.localeCompare(b.state.version) : a.model < b.model ? -1 : 1));
        for (const v of sorted) {
          const memory = Number(v.state.memory_bytes ?? 0);
          detail.push([node.node_id, v.model, v.state.version, v.state.state, v.state.load_ms ? Math.round(v.state.load_ms).toString() : '', memory > 0 ? formatBytes(memory) : '']);
        }
      }
      lines.push('versions:', detail.toString());
    } else {
      lines.push("(each node's versions: --versions; one model's route and states: switchyard status <model>)");
    }
    if (failures.length > 0) lines.push('errors:', ...failures);
  }
  const planes = newTable(['CONTROL PLANE', 'ADDRESS', 'STARTED']);
  for (const cp of cluster.control_planes) planes.push([cp.id, cp.address, cp.started_at]);
  lines.push(`control planes (${cluster.control_planes.length}):`, planes.toString());
  return lines.join('\n');
}

/** The errors the control plane lists per node in the summary (cluster-status.ts). */
const SERVER_ERRORS_PER_NODE = 20;

/** A node's versions counted by state, for a page that carries no counts. */
function countStates(versions: readonly ModelVersionStateMessage[]): VersionCountsMessage {
  const count = (state: string): number => versions.filter((v) => v.state.state === state).length;
  const [ready, loading, failed] = [count('READY'), count('LOADING'), count('FAILED')];
  return { total: versions.length, ready, loading, failed, other: versions.length - ready - loading - failed };
}

/** Each version's retirement state, last use and time left (issue #6). */
export function formatVersionUse(versions: readonly VersionMessage[]): string {
  const table = newTable(['VERSION', 'RETIREMENT', 'LAST USED', 'EXPIRES IN']);
  for (const v of versions) table.push([v.version, v.retirement_state || 'ACTIVE', v.last_used_at || 'never', formatExpiresIn(v)]);
  return table.toString();
}
