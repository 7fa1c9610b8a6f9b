import { Command } from 'commander';
import type { RetirementEntryMessage } from '@switchyard/core';
import { addClientOptions, type ClientFlags } from '../client-options.js';
import { withAdmin } from '../client-connection.js';
import { usageError } from '../exit-codes.js';
import { newTable, printJson, printLine } from '../output-format.js';

interface RetireFlags extends ClientFlags {
  dryRun?: boolean;
  list?: boolean;
}

/** `model` or `model:version`. */
export function parseModelRef(text: string, versionRequired: boolean): { model: string; version: string } {
  const i = text.indexOf(':');
  const model = i < 0 ? text : text.slice(0, i);
  const version = i < 0 ? '' : text.slice(i + 1);
  if (model === '' || (i >= 0 && version === '')) throw usageError(`'${text}' is not model or model:version, e.g. fraud or fraud:v3`);
  if (versionRequired && version === '') throw usageError(`name the version: ${model}:<version>, e.g. ${model}:v3`);
  return { model, version };
}

/** `switchyard retire`: dry run, listing, and retiring by hand. */
export function retireCommand(): Command {
  return addClientOptions(new Command('retire'))
    .description(
      'retire a version now (unloaded everywhere, out of its route, artifact collected after the retention period), or the whole model without :version; ' +
        '--dry-run shows what the sweeper would warn, retire and collect now, and why',
    )
    .argument('[target]', 'model or model:version (optional with --dry-run and --list)')
    .option('--dry-run', 'change nothing: list what would be warned, cleared, retired and collected now')
    .option('--list', 'list versions that are WARNED or RETIRED, with their dates')
    .action(async (target: string | undefined, flags: RetireFlags, command: Command) => {
      if (flags.dryRun || flags.list) {
        const model = target === undefined ? '' : parseModelRef(target, false).model;
        const response = await withAdmin(command, (admin) => (flags.dryRun ? admin.retirementPlan(model) : admin.listRetirements(model)));
        if (flags.output === 'json') printJson(response);
        else printLine(flags.dryRun ? formatPlan(response.entries) : formatRetirements(response.entries));
        return;
      }
      if (target === undefined) throw usageError('name what to retire (model or model:version), or pass --dry-run to see what the sweeper would do');
      const { model, version } = parseModelRef(target, false);
      const response = await withAdmin(command, (admin) => admin.retire(model, version));
      if (flags.output === 'json') printJson(response);
      else {
        const names = response.retired.map((e) => `${e.model}:${e.version}`).join(', ');
        const until = response.retired[0]?.artifact_delete_after;
        printLine(`retired ${names}${response.model_retired ? `; model ${model} is retired (requests get NOT_FOUND)` : ''}`);
        if (until) printLine(`undo with 'switchyard unretire <model>:<version>' until ${until}, when the artifact is collected`);
      }
    });
}

/** `switchyard unretire model:version`. */
export function unretireCommand(): Command {
  return addClientOptions(new Command('unretire'))
    .description("make a RETIRED version ACTIVE again while its artifact is kept; it gets no weight: route it with 'switchyard route set'")
    .argument('<target>', 'model:version')
    .action(async (target: string, flags: ClientFlags, command: Command) => {
      const { model, version } = parseModelRef(target, true);
      const restored = await withAdmin(command, (admin) => admin.unretire(model, version));
      if (flags.output === 'json') printJson(restored);
      else printLine(`${model}:${version} is ACTIVE again with no traffic; route to it with: switchyard route set ${model} ${version}=100`);
    });
}

const orDash = (s: string): string => s || '-';

export function formatPlan(entries: readonly RetirementEntryMessage[]): string {
  if (entries.length === 0) return 'nothing to warn, retire or collect now';
  const table = newTable(['VERSION', 'OWNER', 'STATE', 'ACTION', 'LAST USED', 'EXPIRES', 'RETIRES', 'WHY']);
  for (const e of entries) {
    table.push([`${e.model}:${e.version}`, orDash(e.owner), e.state, e.action, orDash(e.last_used_at), orDash(e.expires_at), orDash(e.retire_at), e.reason]);
  }
  return table.toString();
}

export function formatRetirements(entries: readonly RetirementEntryMessage[]): string {
  if (entries.length === 0) return 'no version is WARNED or RETIRED';
  const table = newTable(['VERSION', 'OWNER', 'STATE', 'WARNED', 'RETIRES/RETIRED', 'ARTIFACT', 'WHY']);
  for (const e of entries) {
    const artifact = e.artifact_deleted_at ? `collected ${e.artifact_deleted_at}` : e.artifact_delete_after ? `kept until ${e.artifact_delete_after}` : '-';
    table.push([`${e.model}:${e.version}`, orDash(e.owner), e.state, orDash(e.warned_at), orDash(e.retired_at || e.retire_at), artifact, e.reason]);
  }
  return table.toString();
}
