import { Writable } from 'node:stream';
import type { Logger } from '@switchyard/core';
import winston from 'winston';

/** A logger that keeps every record, so tests can assert on what was logged. */
export interface CapturedLogger {
  logger: Logger;
  /** Every record, in order, with winston's `level` and `message` and the metadata logged with it. */
  records: Record<string, unknown>[];
  /** The messages logged at `levels` (by default warn and error), in order. */
  messages(levels?: readonly string[]): string[];
}

/**
 * A real winston logger (children, metadata and all) whose records land in
 * an array. winston hands a record to its stream transport synchronously, so
 * a test can read `records` right after the call that logs.
 */
export function capturingLogger(): CapturedLogger {
  const records: Record<string, unknown>[] = [];
  const stream = new Writable({
    objectMode: true,
    write(info: Record<string, unknown>, _encoding, callback) {
      records.push(info);
      callback();
    },
  });
  const logger = winston.createLogger({ level: 'debug', transports: [new winston.transports.Stream({ stream })] });
  return {
    logger,
    records,
    messages: (levels = ['warn', 'error']) => records.filter((r) => levels.includes(r.level as string)).map((r) => String(r.message)),
  };
}
