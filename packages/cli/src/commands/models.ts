import { Command } from 'commander';
import type { ListModelsResponse, ModelMessage, PlacementSettingsMessage, UpdatableModelField } from '@switchyard/core';
import { addClientOptions, type ClientFlags } from '../client-options.js';
import { withAdmin } from '../client-connection.js';
import { formatSeconds, parseSeconds } from '../duration.js';
import { usageError } from '../exit-codes.js';
import { integerFlag } from '../integer-flag.js';
import { formatFields, newTable, printJson, printLine } from '../output-format.js';
import { addRuntimeFlags, formatRuntime, runtimeFromFlags, type RuntimeFlags } from '../runtime-flags.js';

interface ListFlags extends ClientFlags {
  filter?: string;
  pageSize?: string;
  pageToken?: string;
  all?: boolean;
}

interface ModelFieldFlags extends ClientFlags, RuntimeFlags {
  owner?: string;
  description?: string;
  defaultExpiresAfter?: string;
  expectedRevision?: string;
  minCopies?: string;
  maxCopies?: string;
  alwaysResident?: boolean;
}

/** The most copies a model setting may ask for (the control plane's limit too). */
const MAX_COPIES = 1000;

/** Placement settings from the flags, and which of them were given (docs/placement.md). */
function placementFlags(flags: ModelFieldFlags): { placement: PlacementSettingsMessage; mask: UpdatableModelField[] } {
  const mask: UpdatableModelField[] = [];
  if (flags.minCopies !== undefined) mask.push('placement.min_copies');
  if (flags.maxCopies !== undefined) mask.push('placement.max_copies');
  if (flags.alwaysResident !== undefined) mask.push('placement.always_resident');
  return {
    placement: {
      min_copies: flags.minCopies === undefined ? 1 : integerFlag('--min-copies', flags.minCopies, 0, MAX_COPIES),
      max_copies: flags.maxCopies === undefined ? 0 : integerFlag('--max-copies', flags.maxCopies, 0, MAX_COPIES),
      always_resident: flags.alwaysResident === true,
    },
    mask,
  };
}

/** The most models ListModels returns in one page. */
const MAX_PAGE_SIZE = 1000;

/** `switchyard models list|get|create|update|delete`. */
export function modelsCommand(): Command {
  const models = new Command('models').description('list, inspect, create, change and delete models');
  models.addCommand(listCommand());
  models.addCommand(
    addClientOptions(new Command('get'))
      .description('one model: owner, description, default expiration, versions, placement settings')
      .argument('<name>', 'model name')
      .action(async (name: string, flags: ClientFlags, command: Command) => {
        const model = await withAdmin(command, (admin) => admin.getModel(name));
        if (flags.output === 'json') printJson(model);
        else printLine(formatModel(model));
      }),
  );
  models.addCommand(
    addModelFields(addClientOptions(new Command('create')))
      .description('create an empty model (deploy creates models on the way too)')
      .argument('<name>', 'model name (A-Z, a-z, 0-9, . _ -)')
      .action(async (name: string, flags: ModelFieldFlags, command: Command) => {
        const expires = flags.defaultExpiresAfter === undefined ? 0 : parseSeconds(flags.defaultExpiresAfter, '--default-expires-after');
        const { placement } = placementFlags(flags);
        const model = await withAdmin(command, (admin) =>
          admin.createModel({ name, owner: flags.owner ?? '', description: flags.description ?? '', default_expires_after_seconds: expires, placement }),
        );
        if (flags.output === 'json') printJson(model);
        else printLine(`created model ${model.name}`);
      }),
  );
  models.addCommand(
    addRuntimeFlags(addModelFields(addClientOptions(new Command('update'))), "the model's versions (their defaults; settings a version has of its own win)")
      .description(
        'change the owner, description, default expiration, placement settings or default runtime settings of a model; other fields stay as they are. ' +
          'New runtime settings replace the old whole and apply on every node without a failed request; ' +
          'they are refused when a version that takes them cannot run them (a batch size on a version whose first dimension is fixed, naming version and input)',
      )
      .argument('<name>', 'model name')
      .option('--expected-revision <n>', "only if the model is still at this revision (from 'models get'); exit 6 if not")
      .action(async (name: string, flags: ModelFieldFlags, command: Command) => {
        const mask: UpdatableModelField[] = [];
        if (flags.owner !== undefined) mask.push('owner');
        if (flags.description !== undefined) mask.push('description');
        if (flags.defaultExpiresAfter !== undefined) mask.push('default_expires_after_seconds');
        const runtime = await runtimeFromFlags(flags);
        if (runtime) mask.push('runtime');
        const { placement, mask: placementMask } = placementFlags(flags);
        mask.push(...placementMask);
        if (mask.length === 0) {
          throw usageError(
            'nothing to change: give --owner, --description, --default-expires-after, --min-copies, --max-copies, --[no-]always-resident or runtime settings (--max-batch-size, --runtime, ...)',
          );
        }
        const expires = flags.defaultExpiresAfter === undefined ? 0 : parseSeconds(flags.defaultExpiresAfter, '--default-expires-after');
        const revision = flags.expectedRevision === undefined ? 0 : integerFlag('--expected-revision', flags.expectedRevision, 1);
        const model = await withAdmin(command, (admin) =>
          admin.updateModel({
            name,
            owner: flags.owner ?? '',
            description: flags.description ?? '',
            default_expires_after_seconds: expires,
            update_mask: mask,
            expected_revision: revision,
            ...(runtime ? { runtime } : {}),
            placement,
          }),
        );
        if (flags.output === 'json') printJson(model);
        else printLine(`updated model ${model.name} (${mask.join(', ')}); revision ${model.revision}`);
      }),
  );
  models.addCommand(
    addClientOptions(new Command('delete'))
      .description('delete a model with its versions and route; refused while the route gives any version traffic (needs admin)')
      .argument('<name>', 'model name')
      .action(async (name: string, flags: ClientFlags, command: Command) => {
        await withAdmin(command, (admin) => admin.deleteModel(name));
        if (flags.output === 'json') printJson({ deleted: name });
        else printLine(`deleted model ${name}`);
      }),
  );
  return models;
}

function addModelFields(command: Command): Command {
  return command
    .option('--owner <text>', 'who to ask about the model')
    .option('--description <text>', 'what the model does')
    .option('--default-expires-after <duration>', 'expiration of versions that set none, e.g. 30d; 0 for the cluster default')
    .option('--min-copies <n>', 'loaded copies of each routed version while memory allows (default 1; 0: loaded on its first request); docs/placement.md')
    .option('--max-copies <n>', 'most copies load may add (default 0: one per node)')
    .option('--always-resident', 'never unloaded to make room for other models')
    .option('--no-always-resident', 'may lose its copies to more recently used models (the default)');
}

function listCommand(): Command {
  return addClientOptions(new Command('list'))
    .description('models sorted by name, one page at a time')
    .option('--filter <text>', 'only models whose name contains this text')
    .option('--page-size <n>', 'models per page (1-1000)', '100')
    .option('--page-token <token>', 'the next-page token a previous page printed')
    .option('--all', 'fetch every page')
    .action(async (flags: ListFlags, command: Command) => {
      const pageSize = integerFlag('--page-size', flags.pageSize ?? '100', 1, MAX_PAGE_SIZE);
      const page = await withAdmin(command, async (admin) => {
        const request = { page_size: pageSize, page_token: flags.pageToken ?? '', name_filter: flags.filter ?? '' };
        let response = await admin.listModels(request);
        if (!flags.all) return response;
        const models = [...response.models];
        while (response.next_page_token !== '') {
          response = await admin.listModels({ ...request, page_token: response.next_page_token });
          models.push(...response.models);
        }
        return { models, next_page_token: '' };
      });
      if (flags.output === 'json') printJson(page);
      else printLine(formatModelList(page));
    });
}

/** A table of models, and how to get the next page. */
export function formatModelList(page: ListModelsResponse): string {
  if (page.models.length === 0) return "no models; deploy one with 'switchyard deploy <model> <file.onnx>'";
  const table = newTable(['NAME', 'VERSIONS', 'OWNER', 'DESCRIPTION', 'UPDATED']);
  for (const m of page.models) table.push([m.name, m.versions.length.toString(), m.owner, m.description, m.updated_at]);
  const next = page.next_page_token === '' ? '' : `\nmore: --page-token ${page.next_page_token} (or --all)`;
  return table.toString() + next;
}

export function formatModel(model: ModelMessage): string {
  const expires = Number(model.default_expires_after_seconds);
  return formatFields([
    ['name', model.name],
    ['owner', model.owner],
    ['description', model.description],
    ['default expiration', expires === 0 ? 'cluster default' : formatSeconds(expires)],
    ['versions', model.versions.join(', ') || 'none'],
    ['runtime defaults', model.runtime ? formatRuntime(model.runtime) : 'none (built-in defaults)'],
    ['placement', formatPlacementSettings(model.placement)],
    ['created', model.created_at],
    ['updated', model.updated_at],
    ['revision', String(model.revision)],
  ]);
}

/** "1 copy, up to one per node" / "2 copies, up to 4, always resident". */
export function formatPlacementSettings(settings: PlacementSettingsMessage | null | undefined): string {
  const s = settings ?? { min_copies: 1, max_copies: 0, always_resident: false };
  // An always-resident model keeps at least one copy whatever its minimum says.
  const copies = s.always_resident ? Math.max(1, s.min_copies) : s.min_copies;
  const min = copies === 0 ? 'no copy until a request' : `${copies} ${copies === 1 ? 'copy' : 'copies'}`;
  const max = s.max_copies === 0 ? 'up to one per node under load' : `up to ${s.max_copies} under load`;
  return `${min}, ${max}${s.always_resident ? ', always resident' : ''}`;
}
