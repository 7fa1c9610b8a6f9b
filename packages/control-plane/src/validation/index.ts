export {
  DEFAULT_VALIDATION_TIMEOUT_MS,
  validateVersion,
  type ValidateVersionOptions,
  type ValidationOutcome,
} from './validate-version.js';
export { runInChild, type ChildRunOptions, type ChildRunResult, type ChildStage } from './validation-runner.js';
export { ZERO_SAMPLE_NAME, zeroSample } from './zero-sample.js';
export { ValidationPool, type ValidationPoolOptions } from './validation-pool.js';
