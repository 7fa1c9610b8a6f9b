import winston from 'winston';

/** The project's logger: winston's, so components add metadata with `child()`. */
export type Logger = winston.Logger;

/** Options for {@link createLogger}. */
export interface LoggerOptions {
  /** Component name put on every line, e.g. "prediction-node". */
  component: string;
  /** Extra fields on every line, e.g. `{ nodeId }`. */
  fields?: Record<string, unknown>;
  /** @default process.env.SWITCHYARD_LOG_LEVEL ?? 'info' */
  level?: string;
  /** Log nothing (tests). @default process.env.SWITCHYARD_LOG_SILENT === '1' */
  silent?: boolean;
}

/** A JSON-lines logger on stderr, so stdout stays free for command output. */
export function createLogger(options: LoggerOptions): Logger {
  return winston.createLogger({
    level: options.level ?? process.env.SWITCHYARD_LOG_LEVEL ?? 'info',
    silent: options.silent ?? process.env.SWITCHYARD_LOG_SILENT === '1',
    defaultMeta: { component: options.component, ...options.fields },
    format: winston.format.combine(winston.format.timestamp(), winston.format.errors({ stack: false }), winston.format.json()),
    transports: [new winston.transports.Console({ stderrLevels: ['error', 'warn', 'info', 'http', 'verbose', 'debug', 'silly'] })],
  });
}

/** A logger that drops everything; for tests that assert on behaviour, not logs. */
export function silentLogger(): Logger {
  return createLogger({ component: 'test', silent: true });
}
