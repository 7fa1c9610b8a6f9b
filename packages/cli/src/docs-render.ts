import type { Argument, Command, Option } from 'commander';
import { COMMAND_DETAILS, ENVIRONMENT_EXTRA, EXIT_CODES, INTRO, SCRIPTS, SHARED_GROUPS, TOPICS } from './docs-sections.js';

/**
 * Renders docs/cli.md from the command tree: every command's usage,
 * arguments and options (defaults, choices, environment variables) come
 * from commander's definitions, so the reference cannot drift from the
 * code; the prose lives in docs-sections.ts. A test compares the output
 * with the committed file.
 */
export function renderCliReference(program: Command): string {
  const commands = leafAndGroupCommands(program);
  const out: string[] = [INTRO.trim(), '', contents(program), ''];
  for (const topic of TOPICS) out.push(topic.trim(), '');
  out.push(exitCodes(), '');
  for (const group of SHARED_GROUPS) {
    const options = sharedOptions(commands, group.heading);
    out.push(`## ${group.title}`, '', group.intro.trim(), '', optionTable(options), '');
  }
  for (const command of commands) out.push(renderCommand(command), '');
  out.push(environment(commands), '', SCRIPTS.trim(), '');
  return `${out.join('\n').replace(/\n{3,}/g, '\n\n').trimEnd()}\n`;
}

/** `switchyard models list` for the `list` under `models`. */
export function commandPath(command: Command): string {
  const names: string[] = [];
  for (let c: Command | null = command; c; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

/** Every command below the program, parents before their subcommands, in definition order. */
export function leafAndGroupCommands(program: Command): Command[] {
  const all: Command[] = [];
  const walk = (command: Command): void => {
    for (const sub of command.commands) {
      if (sub.name() === 'help') continue;
      all.push(sub);
      walk(sub);
    }
  };
  walk(program);
  return all;
}

/** GitHub's heading anchor for `text`. */
export function anchor(text: string): string {
  return text.toLowerCase().replace(/[^a-z0-9 -]/g, '').replace(/ /g, '-');
}

function contents(program: Command): string {
  const lines = ['Contents:', ''];
  for (const topic of TOPICS) {
    const title = /^## (.*)$/m.exec(topic)?.[1] ?? '';
    lines.push(`- [${title}](#${anchor(title)})`);
  }
  lines.push('- [Exit codes](#exit-codes)');
  for (const group of SHARED_GROUPS) lines.push(`- [${group.title}](#${anchor(group.title)})`);
  for (const command of program.commands) {
    if (command.name() === 'help') continue;
    const path = commandPath(command);
    const subs = command.commands.map((sub) => `[\`${sub.name()}\`](#${anchor(commandPath(sub))})`);
    lines.push(`- [\`${path}\`](#${anchor(path)})${subs.length > 0 ? `: ${subs.join(', ')}` : ''}`);
  }
  lines.push('- [Environment variables](#environment-variables)', '- [Scripts](#scripts)');
  return lines.join('\n');
}

function exitCodes(): string {
  const rows = EXIT_CODES.map((e) => `| ${e.code} | ${e.meaning} | ${e.examples} |`);
  return ['## Exit codes', '', '| exit code | meaning | examples |', '| --- | --- | --- |', ...rows, '', '`switchyard --help` and `--version` exit 0.'].join('\n');
}

/** Markdown-safe prose: `<placeholders>` and anything around them go in backticks, pipes are escaped. */
function prose(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/([^\s(]*<[^>\s]+>[^\s),;]*)/g, (m) => `\`${m.replace(/\\\|/g, '|')}\``);
}

function defaultOf(option: Option): string {
  if (option.negate || option.defaultValue === undefined) return '';
  const value = option.defaultValue as unknown;
  if (typeof value === 'string' || typeof value === 'number') return `\`${value}\``;
  return '';
}

function optionTable(options: readonly Option[]): string {
  const rows = options.map((o) => {
    const flags = `\`${o.flags}\``;
    const choices = o.argChoices ? ` (one of ${o.argChoices.map((c) => `\`${c}\``).join(', ')})` : '';
    const required = o.mandatory ? 'required' : defaultOf(o);
    const env = o.envVar ? `\`${o.envVar}\`` : '';
    return `| ${flags} | ${required} | ${env} | ${prose(o.description)}${choices} |`;
  });
  return ['| flag | default | env | meaning |', '| --- | --- | --- | --- |', ...rows].join('\n');
}

function argumentTable(args: readonly Argument[]): string {
  const rows = args.map((a) => {
    const name = a.required ? `<${a.name()}${a.variadic ? '...' : ''}>` : `[${a.name()}${a.variadic ? '...' : ''}]`;
    return `| \`${name}\` | ${a.required ? 'required' : 'optional'} | ${prose(a.description)} |`;
  });
  return ['| argument | | meaning |', '| --- | --- | --- |', ...rows].join('\n');
}

/** The options of the first command that has `heading`'s group; every command with the group defines it identically. */
function sharedOptions(commands: readonly Command[], heading: string): Option[] {
  const owner = commands.find((c) => c.options.some((o) => o.helpGroupHeading === heading));
  return owner ? owner.options.filter((o) => o.helpGroupHeading === heading) : [];
}

function renderCommand(command: Command): string {
  const path = commandPath(command);
  const depth = command.parent?.parent ? '###' : '##';
  const description = prose(command.description());
  const lines = [`${depth} \`${path}\``, '', `${description.charAt(0).toUpperCase()}${description.slice(1)}.`, ''];
  if (command.commands.length > 0) {
    lines.push('| command | what it does |', '| --- | --- |');
    for (const sub of command.commands) lines.push(`| [\`${commandPath(sub)}\`](#${anchor(commandPath(sub))}) | ${prose(sub.description())} |`);
    lines.push('');
  } else {
    const usage = command.usage().replace('[options]', '').trim();
    lines.push('```', `${path}${usage ? ` ${usage}` : ''} [options]`, '```', '');
    if (command.registeredArguments.length > 0) lines.push(argumentTable(command.registeredArguments), '');
    const shared = SHARED_GROUPS.filter((g) => command.options.some((o) => o.helpGroupHeading === g.heading));
    const own = command.options.filter((o) => !shared.some((g) => g.heading === o.helpGroupHeading));
    if (own.length > 0) lines.push(optionTable(own), '');
    for (const group of shared) lines.push(`Also takes the [${group.title.toLowerCase()}](#${anchor(group.title)}).`, '');
  }
  const details = COMMAND_DETAILS[path.replace(/^switchyard /, '')];
  if (details) lines.push(details.trim(), '');
  return lines.join('\n').trimEnd();
}

function environment(commands: readonly Command[]): string {
  const byVariable = new Map<string, { flags: Set<string>; commands: Set<string> }>();
  for (const command of commands) {
    for (const option of command.options) {
      if (!option.envVar) continue;
      const entry = byVariable.get(option.envVar) ?? { flags: new Set(), commands: new Set() };
      entry.flags.add(option.long ?? option.flags);
      entry.commands.add(command.name());
      byVariable.set(option.envVar, entry);
    }
  }
  const rows = [...byVariable].map(([variable, e]) => `| \`${variable}\` | ${[...e.flags].map((f) => `\`${f}\``).join(', ')} when not given (${[...e.commands].join(', ')}) |`);
  const extra = ENVIRONMENT_EXTRA.map((e) => `| \`${e.variable}\` | ${e.meaning} |`);
  return [
    '## Environment variables',
    '',
    'A flag given on the command line wins over its variable.',
    '',
    '| variable | meaning |',
    '| --- | --- |',
    ...rows,
    ...extra,
    '',
    'grpc-js honours `grpc_proxy`/`https_proxy`/`http_proxy`; if a proxy is set,',
    'list the cluster\'s hosts in `no_grpc_proxy` (or `no_proxy`).',
  ].join('\n');
}
