import { Command } from 'commander';
import type { RouteMessage } from '@switchyard/core';
import { addClientOptions, type ClientFlags } from '../client-options.js';
import { withAdmin } from '../client-connection.js';
import { usageError } from '../exit-codes.js';
import { integerFlag } from '../integer-flag.js';
import { newTable, printJson, printLine } from '../output-format.js';
import { formatSplits, formatWeight, parseRouteSplits } from '../route-splits.js';

interface SetFlags extends ClientFlags {
  expectedRevision?: string;
  empty?: boolean;
}

/** `switchyard route get|set`. */
export function routeCommand(): Command {
  const route = new Command('route').description("read or replace a model's traffic split");
  route.addCommand(
    addClientOptions(new Command('get'))
      .description("a model's traffic split and its revision")
      .argument('<model>', 'model name')
      .action(async (model: string, flags: ClientFlags, command: Command) => {
        const current = await withAdmin(command, (admin) => admin.getRoute(model));
        if (flags.output === 'json') printJson(current);
        else printLine(formatRoute(current));
      }),
  );
  route.addCommand(
    addClientOptions(new Command('set'))
      .description('replace the traffic split: percentages per version adding up to 100, e.g. v1=90 v2=10')
      .argument('<model>', 'model name')
      .argument('[splits...]', 'version=percent, decimals down to 0.01 (e.g. v1=99.5 v2=0.5)')
      .option('--expected-revision <n>', "only if the route is still at this revision (from 'route get'); exit 6 if someone changed it")
      .option('--empty', 'clear the split: the model serves nothing')
      .action(async (model: string, args: string[], flags: SetFlags, command: Command) => {
        if (flags.empty && args.length > 0) throw usageError('give either version=percent splits or --empty, not both');
        if (!flags.empty && args.length === 0) throw usageError('give the split, e.g. v1=90 v2=10, or --empty to serve nothing');
        const splits = flags.empty ? [] : parseRouteSplits(args);
        const revision = flags.expectedRevision === undefined ? 0 : integerFlag('--expected-revision', flags.expectedRevision, 1);
        const updated = await withAdmin(command, (admin) => admin.setRoute({ model, splits, expected_revision: revision }));
        if (flags.output === 'json') printJson(updated);
        else printLine(formatRoute(updated));
      }),
  );
  return route;
}

/** `route of m: v1 90%, v2 10% (revision 12, updated …)` and a table for several versions. */
export function formatRoute(route: RouteMessage): string {
  const head = `route of ${route.model}: ${formatSplits(route.splits)}`;
  const meta = route.updated_at ? ` (revision ${route.revision}, updated ${route.updated_at})` : ' (never set)';
  if (route.splits.length < 2) return head + meta;
  const table = newTable(['VERSION', 'WEIGHT', 'BASIS POINTS']);
  for (const s of route.splits) table.push([s.version, formatWeight(s.weight), s.weight.toString()]);
  return `${head}${meta}\n${table.toString()}`;
}
