import { Command } from 'commander';
import type { TensorSpecMessage, VersionMessage } from '@switchyard/core';
import { formatBytes } from '../byte-size.js';
import { addClientOptions, type ClientFlags } from '../client-options.js';
import { withAdmin } from '../client-connection.js';
import { formatRuntime } from '../runtime-flags.js';
import { formatSeconds } from '../duration.js';
import { formatLabels } from '../labels.js';
import { integerFlag } from '../integer-flag.js';
import { formatFields, newTable, printJson, printLine } from '../output-format.js';
import { formatValidation } from './deploy.js';

interface ListFlags extends ClientFlags {
  pageSize?: string;
  pageToken?: string;
  all?: boolean;
}

/** The most versions ListVersions returns in one page. */
const MAX_PAGE_SIZE = 1000;

/** `switchyard versions list|get|delete`. */
export function versionsCommand(): Command {
  const versions = new Command('versions').description("list, inspect and delete a model's versions");
  versions.addCommand(
    addClientOptions(new Command('list'))
      .description("a model's versions, v2 before v10, with their validation state, one page at a time")
      .argument('<model>', 'model name')
      .option('--page-size <n>', 'versions per page (1-1000)', '100')
      .option('--page-token <token>', 'the next-page token a previous page printed')
      .option('--all', 'fetch every page')
      .action(async (model: string, flags: ListFlags, command: Command) => {
        const pageSize = integerFlag('--page-size', flags.pageSize ?? '100', 1, MAX_PAGE_SIZE);
        const response = await withAdmin(command, async (admin) => {
          let page = await admin.listVersionsPage({ model, page_size: pageSize, page_token: flags.pageToken ?? '' });
          if (!flags.all) return page;
          const all = [...page.versions];
          while (page.next_page_token !== '') {
            page = await admin.listVersionsPage({ model, page_size: pageSize, page_token: page.next_page_token });
            all.push(...page.versions);
          }
          return { versions: all, next_page_token: '' };
        });
        if (flags.output === 'json') printJson(response);
        else printLine(formatVersionList(model, response.versions, response.next_page_token));
      }),
  );
  versions.addCommand(
    addClientOptions(new Command('get'))
      .description('one version: artifact, signature, validation state and reason, samples, expiration, labels')
      .argument('<model>', 'model name')
      .argument('<version>', 'version name, e.g. v3')
      .action(async (model: string, version: string, flags: ClientFlags, command: Command) => {
        const found = await withAdmin(command, (admin) => admin.getVersion(model, version));
        if (flags.output === 'json') printJson(found);
        else printLine(formatVersion(found));
      }),
  );
  versions.addCommand(
    addClientOptions(new Command('delete'))
      .description('delete a version the route does not use (needs admin); its artifact stays in the store')
      .argument('<model>', 'model name')
      .argument('<version>', 'version name')
      .action(async (model: string, version: string, flags: ClientFlags, command: Command) => {
        await withAdmin(command, (admin) => admin.deleteVersion(model, version));
        if (flags.output === 'json') printJson({ deleted: { model, version } });
        else printLine(`deleted ${model}:${version}`);
      }),
  );
  for (const pinned of [true, false]) {
    versions.addCommand(
      addClientOptions(new Command(pinned ? 'pin' : 'unpin'))
        .description(pinned ? 'pin a version so it never expires (needs admin)' : 'unpin a version: its expiration clock starts again now (needs admin)')
        .argument('<model>', 'model name')
        .argument('<version>', 'version name')
        .action(async (model: string, version: string, flags: ClientFlags, command: Command) => {
          const result = await withAdmin(command, (admin) => admin.pinVersion(model, version, pinned));
          if (flags.output === 'json') printJson(result);
          else printLine(`${model}:${version} ${pinned ? 'pinned: it never expires' : `unpinned: expires in ${formatExpiresIn(result)} unless used`}`);
        }),
    );
  }
  return versions;
}

export function formatVersionList(model: string, versions: readonly VersionMessage[], nextPageToken = ''): string {
  if (versions.length === 0) return `model ${model} has no versions`;
  const table = newTable(['VERSION', 'VALIDATION', 'RETIREMENT', 'LAST USED', 'EXPIRES IN', 'SIZE', 'SHA256', 'CREATED', 'BY', 'LABELS', 'DESCRIPTION']);
  for (const v of versions) {
    table.push([
      v.version,
      v.validation?.state ?? '-',
      v.retirement_state || 'ACTIVE',
      v.last_used_at || 'never',
      formatExpiresIn(v),
      formatBytes(Number(v.artifact_size)),
      v.artifact_sha256.slice(0, 12),
      v.created_at,
      v.created_by,
      formatLabels(v.labels),
      v.description,
    ]);
  }
  const next = nextPageToken === '' ? '' : `\nmore: --page-token ${nextPageToken} (or --all)`;
  return table.toString() + next;
}

function formatTensors(tensors: readonly TensorSpecMessage[]): string {
  return tensors.map((t) => `${t.name} ${t.datatype} [${t.shape.join(',')}]`).join(', ');
}

/** Expiration period of a version: its own, or the model's default. */
function formatExpiration(version: VersionMessage): string {
  const seconds = Number(version.expires_after_seconds);
  if (seconds === 0) return "the model's default (else the cluster's) after last use";
  return `${formatSeconds(seconds)} after last use`;
}

/** Time left before a version expires if unused, as "12d 3h"; why there is none otherwise. */
export function formatExpiresIn(v: VersionMessage, nowMs: number = Date.now()): string {
  if (v.pinned) return 'pinned';
  if (v.retirement_state === 'RETIRED') return 'retired';
  if (!v.expires_at) return '-';
  const left = Date.parse(v.expires_at) - nowMs;
  if (!Number.isFinite(left)) return '-';
  if (left <= 0) return 'expired';
  const days = Math.floor(left / 86_400_000);
  const hours = Math.floor((left % 86_400_000) / 3_600_000);
  const minutes = Math.floor((left % 3_600_000) / 60_000);
  return days > 0 ? `${days}d ${hours}h` : hours > 0 ? `${hours}h ${minutes}m` : `${Math.max(1, minutes)}m`;
}

export function formatVersion(v: VersionMessage): string {
  const validation = v.validation;
  const samples = validation === null || validation.samples === 0 ? 'none' : `${validation.samples}${validation.golden_recorded ? ' (golden outputs recorded at validation)' : ''}`;
  return formatFields([
    ['version', `${v.model}:${v.version}`],
    ['validation', formatValidation(validation).replace(/^validation:? /, '')],
    ...(validation && validation.reason && validation.state === 'PASSED' ? [['reason', validation.reason] as const] : []),
    ['validated', validation ? `${validation.validated_at} in ${Math.round(validation.duration_ms)} ms` : ''],
    ['samples', samples],
    ['samples sha256', v.samples_sha256],
    ['artifact', `sha256 ${v.artifact_sha256}, ${formatBytes(Number(v.artifact_size))}`],
    ['memory', Number(v.memory_bytes ?? 0) > 0 ? `${formatBytes(Number(v.memory_bytes))} per loaded copy (measured on a node)` : 'not measured yet (no node has loaded it)'],
    ['inputs', formatTensors(v.signature.inputs)],
    ['outputs', formatTensors(v.signature.outputs)],
    ['runtime', formatRuntime(v.effective_runtime)],
    ['own runtime', v.runtime ? formatRuntime(v.runtime) : "none (the model's)"],
    ['expires', formatExpiration(v)],
    ['retirement', `${v.retirement_state || 'ACTIVE'}${v.pinned ? ', pinned (never expires)' : ''}`],
    ['last used', v.last_used_at || 'never (on any node that reported)'],
    ['expires in', formatExpiresIn(v)],
    ['labels', formatLabels(v.labels)],
    ['description', v.description],
    ['created', `${v.created_at} by ${v.created_by}`],
  ]);
}
