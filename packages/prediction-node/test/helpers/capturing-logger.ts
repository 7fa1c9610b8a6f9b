import { createLogger, type Logger } from '@switchyard/core';

export interface LogEntry {
  level: 'error' | 'warn' | 'info' | 'debug';
  message: string;
  meta: Record<string, unknown> | undefined;
}

/** A silent logger that keeps what it was asked to log (children log into the same list). */
export function capturingLogger(): { logger: Logger; entries: LogEntry[] } {
  const entries: LogEntry[] = [];
  const logger = createLogger({ component: 'test', silent: true });
  for (const level of ['error', 'warn', 'info', 'debug'] as const) {
    (logger as unknown as Record<string, unknown>)[level] = (message: string, meta?: Record<string, unknown>) => {
      entries.push({ level, message, meta });
      return logger;
    };
  }
  logger.child = () => logger;
  return { logger, entries };
}
