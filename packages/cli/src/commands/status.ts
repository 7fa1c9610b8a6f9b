import { Command } from 'commander';
import Table from 'cli-table3';
import { withAdmin } from '../admin-session.js';
import type { ModelStatusMessage } from '@switchyard/core';
import { addClientOptions, printJson, printLine, type ClientFlags } from '../output-format.js';

export function statusCommand(): Command {
  return addClientOptions(new Command('status'))
    .description("a model's route and every live node's state of each of its versions")
    .argument('<model>', 'model name')
    .action(async (model: string, flags: ClientFlags) => {
      const status = await withAdmin(flags, (admin) => admin.getModelStatus(model));
      if (flags.output === 'json') printJson(status);
      else printLine(formatStatus(status));
    });
}

export function formatStatus(status: ModelStatusMessage): string {
  const route = status.route;
  const split =
    route && route.splits.length > 0
      ? route.splits.map((s) => `${s.version} ${formatWeight(s.weight)}`).join(', ') + ` (revision ${route.revision}, updated ${route.updated_at})`
      : 'none (no traffic; deploy a version or set a route)';
  const lines = [`model: ${status.model}`, `route: ${split}`];
  if (status.nodes.length === 0) {
    lines.push('nodes: none live; start one with `switchyard node` or `switchyard up`');
    return lines.join('\n');
  }
  // No colours: the output is often piped or pasted into tickets.
  const table = new Table({ head: ['NODE', 'ADDRESS', 'VERSION', 'STATE', 'LOAD MS', 'ERROR'], style: { head: [], border: [] } });
  for (const node of status.nodes) {
    if (node.versions.length === 0) table.push([node.node_id, node.address, '-', '-', '', '']);
    for (const v of node.versions) {
      table.push([node.node_id, node.address, v.version, v.state, v.load_ms ? Math.round(v.load_ms).toString() : '', v.error]);
    }
  }
  lines.push(table.toString());
  return lines.join('\n');
}

/** Basis points as a percentage: 10000 → 100%, 250 → 2.5%. */
function formatWeight(weight: number): string {
  return `${Number((weight / 100).toFixed(2))}%`;
}
