import { Option, type Command } from 'commander';

export type OutputFormat = 'table' | 'json';

/** The flags every client command shares. */
export interface ClientFlags {
  controlPlane?: string;
  dataDir?: string;
  output: OutputFormat;
}

/** Adds --control-plane, --data-dir and --output to a client command. */
export function addClientOptions(command: Command): Command {
  return command
    .option('--control-plane <host:port>', 'control plane admin address (else $SWITCHYARD_CONTROL_PLANE, else <data-dir>/cluster.json)')
    .option('--data-dir <dir>', "where 'switchyard up' wrote cluster.json", '.switchyard')
    .addOption(new Option('-o, --output <format>', 'table for people, json for scripts').choices(['table', 'json']).default('table'));
}

/** One JSON document on stdout; BigInts become numbers when exact, strings otherwise. */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, jsonReplacer, 2)}\n`);
}

export function jsonReplacer(_key: string, value: unknown): unknown {
  if (typeof value !== 'bigint') return value;
  return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value.toString();
}

export function printLine(text = ''): void {
  process.stdout.write(`${text}\n`);
}

