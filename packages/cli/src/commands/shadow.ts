import { Command } from 'commander';
import type { ShadowListMessage, ShadowMessage, ShadowPairReportMessage, ShadowReportMessage } from '@switchyard/core';
import { addClientOptions, type ClientFlags } from '../client-options.js';
import { withAdmin } from '../client-connection.js';
import { parseSeconds } from '../duration.js';
import { usageError } from '../exit-codes.js';
import { integerFlag } from '../integer-flag.js';
import { newTable, printJson, printLine } from '../output-format.js';

interface AddFlags extends ClientFlags {
  fraction: string;
  for?: string;
  until?: string;
  budget?: string;
  tolerance?: string;
}

/** A fraction flag in (0, 1]. */
export function parseFraction(flag: string, text: string): number {
  const value = Number(text);
  if (text.trim() === '' || !(value > 0 && value <= 1)) throw usageError(`${flag} must be a share of requests in (0, 1], e.g. 0.1, not '${text}'`);
  return value;
}

/** `switchyard shadow add|remove|list|report`. */
export function shadowCommand(): Command {
  const shadow = new Command('shadow').description("mirror a share of a model's traffic to other versions and compare their outputs");
  shadow.addCommand(
    addClientOptions(new Command('add'))
      .description('make a version a shadow of the model (or change an existing shadow): nodes replay sampled requests to it after answering, and compare')
      .argument('<model>', 'model name')
      .argument('<version>', 'the version to mirror requests to')
      .option('--fraction <share>', 'share of requests to mirror, in (0, 1]', '0.1')
      .option('--for <duration>', 'stop after this long, e.g. 30m, 1h, 2d')
      .option('--until <time>', 'stop at this time (RFC 3339, e.g. 2026-01-31T18:00:00Z)')
      .option('--budget <requests>', 'stop after this many mirrored requests over all nodes')
      .option('--tolerance <abs>', 'absolute difference within which two output elements count as equal', '1e-5')
      .action(async (model: string, version: string, flags: AddFlags, command: Command) => {
        if (flags.for !== undefined && flags.until !== undefined) throw usageError('give at most one of --for and --until');
        const fraction = parseFraction('--fraction', flags.fraction);
        const durationSeconds = flags.for === undefined ? 0 : parseSeconds(flags.for, '--for');
        if (flags.for !== undefined && durationSeconds === 0) throw usageError('--for must be longer than 0s');
        const budget = flags.budget === undefined ? 0 : integerFlag('--budget', flags.budget, 1);
        const tolerance = Number(flags.tolerance ?? '1e-5');
        if (!(tolerance >= 0 && Number.isFinite(tolerance))) throw usageError(`--tolerance must be a number >= 0, not '${flags.tolerance}'`);
        const list = await withAdmin(command, (admin) =>
          admin.addShadow({
            model,
            version,
            fraction,
            duration_seconds: durationSeconds,
            until: flags.until ?? '',
            budget,
            tolerance,
          }),
        );
        if (flags.output === 'json') printJson(list);
        else printLine(formatShadowList(list));
      }),
  );
  shadow.addCommand(
    addClientOptions(new Command('remove'))
      .description('stop mirroring to a version; its figures stay in the report')
      .argument('<model>', 'model name')
      .argument('<version>', 'the shadow version')
      .action(async (model: string, version: string, flags: ClientFlags, command: Command) => {
        const list = await withAdmin(command, (admin) => admin.removeShadow(model, version));
        if (flags.output === 'json') printJson(list);
        else printLine(formatShadowList(list));
      }),
  );
  shadow.addCommand(
    addClientOptions(new Command('list'))
      .description("a model's shadows and their settings")
      .argument('<model>', 'model name')
      .action(async (model: string, flags: ClientFlags, command: Command) => {
        const list = await withAdmin(command, (admin) => admin.listShadows(model));
        if (flags.output === 'json') printJson(list);
        else printLine(formatShadowList(list));
      }),
  );
  shadow.addCommand(
    addClientOptions(new Command('report'))
      .description('how the shadows compared with the primary, summed over every node: requests mirrored, dropped, failed, output differences, agreement')
      .argument('<model>', 'model name')
      .action(async (model: string, flags: ClientFlags, command: Command) => {
        const report = await withAdmin(command, (admin) => admin.getShadowReport(model));
        if (flags.output === 'json') printJson(report);
        else printLine(formatShadowReport(report));
      }),
  );
  return shadow;
}

const percent = (share: number): string => `${Number((share * 100).toFixed(2))}%`;

/** A difference, short but exact enough to tell 0 from 1e-7. */
const diff = (v: number): string => (v === 0 ? '0' : Number(v.toPrecision(3)).toString());

function settings(s: ShadowMessage): string {
  const parts = [`fraction ${s.fraction}`, `tolerance ${s.tolerance}`];
  if (s.until) parts.push(`until ${s.until}`);
  if (Number(s.budget) > 0) parts.push(`budget ${s.budget}`);
  if (s.auto) parts.push('auto');
  return parts.join(', ');
}

/** `shadows of m (revision 12): none` or a table of them. */
export function formatShadowList(list: ShadowListMessage): string {
  const head = `shadows of ${list.model} (route revision ${list.revision})`;
  if (list.shadows.length === 0) return `${head}: none`;
  const table = newTable(['VERSION', 'FRACTION', 'UNTIL', 'BUDGET', 'TOLERANCE', 'ADDED', 'BY']);
  for (const s of list.shadows) {
    table.push([s.version, String(s.fraction), s.until || '-', Number(s.budget) > 0 ? String(s.budget) : '-', String(s.tolerance), s.added_at, s.auto ? `${s.added_by} (auto)` : s.added_by]);
  }
  return `${head}\n${table.toString()}`;
}

function pairLines(p: ShadowPairReportMessage, shadow: ShadowMessage | undefined): string[] {
  const compared = Number(p.compared);
  const failed = Number(p.failed_error) + Number(p.failed_timeout) + Number(p.failed_shape);
  const lines = [
    `${p.shadow} shadowing ${p.primary}${p.active ? '' : ' (no longer a shadow)'}${shadow ? ` — ${settings(shadow)}` : ''}`,
    `  mirrored ${p.mirrored}, dropped ${p.dropped}, failed ${failed} (error ${p.failed_error}, timeout ${p.failed_timeout}, shape ${p.failed_shape}), ` +
      `compared ${p.compared}, agreed ${p.agreed}${compared > 0 ? ` (${percent(p.agreement)})` : ''}; ${p.reporters} node process${p.reporters === 1 ? '' : 'es'}` +
      (compared + failed > 0 ? `; shadow latency p50 ${diff(p.latency_p50_ms)} ms, p99 ${diff(p.latency_p99_ms)} ms` : ''),
  ];
  if (p.outputs.length > 0) {
    const table = newTable(['OUTPUT', 'ELEMENTS', 'MEAN |DIFF|', 'MAX |DIFF|', 'WITHIN TOL', 'TOP-1 AGREE']);
    for (const o of p.outputs) {
      const top1 = Number(o.top1_compared) > 0 ? `${percent(o.top1_agreement)} of ${o.top1_compared}` : '-';
      table.push([o.name, String(o.elements), diff(o.mean_abs_diff), diff(o.max_abs_diff), percent(o.within_tolerance), top1]);
    }
    lines.push(table.toString());
  }
  return lines;
}

/** The report as people read it: one block per (shadow, primary). */
export function formatShadowReport(report: ShadowReportMessage): string {
  const lines = [`shadow report of ${report.model}`];
  const bySeen = new Set(report.pairs.map((p) => p.shadow));
  for (const p of report.pairs) lines.push('', ...pairLines(p, report.shadows.find((s) => s.version === p.shadow)));
  for (const s of report.shadows.filter((x) => !bySeen.has(x.version))) lines.push('', `${s.version} — ${settings(s)}: no figures yet (no node has mirrored a request to it)`);
  if (report.pairs.length === 0 && report.shadows.length === 0) lines.push('no shadows and no figures');
  return lines.join('\n');
}
