// '@switchyard/core/logging': winston-backed loggers.
export {
  type Logger,
  type LoggerOptions,
  createLogger,
  silentLogger,
} from './logger.js';

