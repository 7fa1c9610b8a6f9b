import { Command } from 'commander';
import type { ClusterStatusMessage, ModelStatusMessage, VersionMessage } from '@switchyard/core';
import { addClientOptions, type ClientFlags } from '../client-options.js';
import { withAdmin } from '../client-connection.js';
import { newTable, printJson, printLine } from '../output-format.js';
import { formatSplits } from '../route-splits.js';
import { formatExpiresIn } from './versions.js';

export function statusCommand(): Command {
  return addClientOptions(new Command('status'))
    .description("with a model: its route and every live node's state of each of its versions; without: every node and control plane")
    .argument('[model]', 'model name (omit for the whole cluster)')
    .action(async (model: string | undefined, flags: ClientFlags, command: Command) => {
      if (model === undefined) {
        const cluster = await withAdmin(command, (admin) => admin.getClusterStatus());
        if (flags.output === 'json') printJson(cluster);
        else printLine(formatClusterStatus(cluster));
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
  const table = newTable(['NODE', 'ADDRESS', 'VERSION', 'STATE', 'LOAD MS', 'ERROR']);
  for (const node of status.nodes) {
    if (node.versions.length === 0) table.push([node.node_id, node.address, '-', '-', '', '']);
    for (const v of node.versions) {
      table.push([node.node_id, node.address, v.version, v.state, v.load_ms ? Math.round(v.load_ms).toString() : '', v.error]);
    }
  }
  lines.push(table.toString());
  return lines.join('\n');
}

/**
 * Nodes × versions: one row per live node, one column per model:version any
 * node reports, the state in each cell; then the errors of FAILED versions
 * and the control planes.
 */
export function formatClusterStatus(cluster: ClusterStatusMessage): string {
  const lines: string[] = [];
  if (cluster.nodes.length === 0) {
    lines.push('nodes: none live; start one with `switchyard node` or `switchyard up`');
  } else {
    const columns = [...new Set(cluster.nodes.flatMap((n) => n.versions.map((v) => `${v.model}:${v.state.version}`)))].sort();
    const table = newTable(['NODE', 'ADDRESS', 'BUILD', ...columns]);
    const failures: string[] = [];
    for (const { node, versions } of cluster.nodes) {
      const states = new Map(versions.map((v) => [`${v.model}:${v.state.version}`, v.state]));
      table.push([node.node_id, node.address, node.build_version, ...columns.map((c) => states.get(c)?.state ?? '-')]);
      for (const [key, state] of states) if (state.error) failures.push(`  ${node.node_id} ${key} ${state.state}: ${state.error}`);
    }
    lines.push(`nodes (${cluster.nodes.length}):`, table.toString());
    if (failures.length > 0) lines.push('errors:', ...failures);
  }
  const planes = newTable(['CONTROL PLANE', 'ADDRESS', 'STARTED']);
  for (const cp of cluster.control_planes) planes.push([cp.id, cp.address, cp.started_at]);
  lines.push(`control planes (${cluster.control_planes.length}):`, planes.toString());
  return lines.join('\n');
}

/** Each version's retirement state, last use and time left (issue #6). */
export function formatVersionUse(versions: readonly VersionMessage[]): string {
  const table = newTable(['VERSION', 'RETIREMENT', 'LAST USED', 'EXPIRES IN']);
  for (const v of versions) table.push([v.version, v.retirement_state || 'ACTIVE', v.last_used_at || 'never', formatExpiresIn(v)]);
  return table.toString();
}
