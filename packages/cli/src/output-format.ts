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

/**
 * Watches a stream the CLI writes its output to, so the process can end only
 * once everything written has reached the reader. On a pipe, Node writes
 * asynchronously: a process.exit() right after a large write drops whatever
 * the reader has not taken yet (all but the pipe's 64 KiB, or nothing), and
 * the command still exits 0.
 */
export class OutputGuard {
  #error: Error | undefined;

  constructor(private readonly stream: NodeJS.WriteStream) {
    // Without a listener a write error (EPIPE when the reader went away) is an uncaught exception.
    stream.on('error', (err: Error) => (this.#error ??= err));
  }

  /** Resolves once every byte written so far is flushed, with the write error if one happened. */
  flushed(): Promise<Error | undefined> {
    if (this.#error || this.stream.destroyed || !this.stream.writable) return Promise.resolve(this.#error);
    return new Promise((resolve) => {
      // Writes complete in order: the callback of an empty write runs after all earlier ones.
      this.stream.write('', (err) => resolve(this.#error ?? err ?? undefined));
    });
  }
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
