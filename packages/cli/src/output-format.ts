import Table from 'cli-table3';

export type OutputFormat = 'table' | 'json';

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

/** A table for people. No colours: the output is often piped or pasted into tickets. */
export function newTable(head: string[]): Table.Table {
  return new Table({ head, style: { head: [], border: [] } });
}

/** `label: value` lines with the values aligned; empty values are shown as "-". */
export function formatFields(fields: readonly (readonly [string, string])[]): string {
  const width = Math.max(...fields.map(([label]) => label.length)) + 1;
  return fields.map(([label, value]) => `${`${label}:`.padEnd(width)} ${value === '' ? '-' : value}`).join('\n');
}
