import { Command } from 'commander';
import type { HistoryEntryMessage, ListHistoryResponse } from '@switchyard/core';
import { addClientOptions, type ClientFlags } from '../client-options.js';
import { withAdmin } from '../client-connection.js';
import { integerFlag } from '../integer-flag.js';
import { newTable, printJson, printLine } from '../output-format.js';
import { formatSplits } from '../route-splits.js';

interface HistoryFlags extends ClientFlags {
  limit: string;
  pageToken?: string;
}

export function historyCommand(): Command {
  return addClientOptions(new Command('history'))
    .description("a model's audit log, newest first: who changed what, when")
    .argument('<model>', 'model name')
    .option('--limit <n>', 'entries per page (1-1000)', '20')
    .option('--page-token <token>', 'the next-page token a previous page printed')
    .action(async (model: string, flags: HistoryFlags, command: Command) => {
      const limit = integerFlag('--limit', flags.limit, 1, 1000);
      const page = await withAdmin(command, (admin) => admin.listHistory({ model, page_size: limit, page_token: flags.pageToken ?? '' }));
      if (flags.output === 'json') printJson(page);
      else printLine(formatHistory(model, page));
    });
}

export function formatHistory(model: string, page: ListHistoryResponse): string {
  if (page.entries.length === 0) return `no history for model ${model}`;
  const table = newTable(['AT', 'ACTOR', 'ACTION', 'VERSION', 'CHANGE']);
  for (const e of page.entries) table.push([e.at, e.actor, e.action, e.version || '-', summarize(e)]);
  const next = page.next_page_token === '' ? '' : `\nolder: --page-token ${page.next_page_token}`;
  return table.toString() + next;
}

function parse(json: string): Record<string, unknown> | null {
  if (!json) return null;
  try {
    return JSON.parse(json) as Record<string, unknown>;
  } catch {
    return null;
  }
}

/** One line about what an entry changed, read from its before/after records. */
export function summarize(entry: HistoryEntryMessage): string {
  const before = parse(entry.before_json);
  const after = parse(entry.after_json);
  if (after === null) return before === null ? '' : 'deleted';
  const splits = after.splits as { version: string; weight: number }[] | undefined;
  if (Array.isArray(splits)) return `${before ? formatSplits((before.splits as never[]) ?? []) : 'none'} -> ${formatSplits(splits)}`;
  // Auto-retirement steps (issue #6) rewrite a version record: say what moved, not its validation.
  const retirement = after.retirement as { state?: string; reason?: string } | undefined;
  if (before !== null && retirement?.state && JSON.stringify(retirement) !== JSON.stringify(before.retirement)) {
    const from = (before.retirement as { state?: string } | undefined)?.state ?? 'ACTIVE';
    return `${from} -> ${retirement.state}${retirement.reason && retirement.state === 'RETIRED' ? `: ${retirement.reason}` : ''}`;
  }
  if (before !== null && (after.pinned ?? false) !== (before.pinned ?? false)) return after.pinned ? 'pinned' : 'unpinned';
  const validation = after.validation as { state?: string; reason?: string } | undefined | null;
  if (validation?.state) return validation.reason ? `${validation.state}: ${validation.reason}` : validation.state;
  if (before !== null) {
    const changed = Object.keys(after).filter((k) => !['updatedAt', 'updatedBy'].includes(k) && JSON.stringify(after[k]) !== JSON.stringify(before[k]));
    return changed.length > 0 ? `changed ${changed.join(', ')}` : '';
  }
  return 'created';
}
