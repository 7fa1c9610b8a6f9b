/** `switchyard node` flags of shadow mirroring (docs/shadows.md#node-settings). */
import { Option, type Command } from 'commander';
import type { ShadowOptions } from '@switchyard/prediction-node';
import { parseDuration } from './duration.js';
import { usageError } from './exit-codes.js';
import { integerFlag } from './integer-flag.js';

const GROUP = 'Shadow mirroring (docs/shadows.md):';

export interface ShadowNodeFlags {
  shadowQueueSize: string;
  shadowConcurrency: string;
  shadowTimeout: string;
  shadowMaxWait: string;
  shadowBusyThreshold: string;
}

export function addShadowNodeOptions(command: Command): Command {
  const option = (flags: string, description: string, fallback: string): Option => new Option(flags, description).default(fallback).helpGroup(GROUP);
  return command
    .addOption(option('--shadow-queue-size <n>', 'sampled shadow calls that may wait or run at once; more are dropped and counted', '64'))
    .addOption(option('--shadow-concurrency <n>', 'no effect since issue #17 (the shadow version\'s instances bound its runs); kept for old command lines', '1'))
    .addOption(option('--shadow-timeout <duration>', 'a shadow call slower than this counts as a time-out, not compared', '1s'))
    .addOption(option('--shadow-max-wait <duration>', 'a sampled call still waiting in the shadow version\'s queue after this (primaries went first) is dropped', '250ms'))
    .addOption(option('--shadow-busy-threshold <0-1>', 'no effect since issue #17 (shadow calls wait behind primaries instead of being shed); kept for old command lines', '0.6'));
}

/**
 * The node's ShadowOptions as given; a usage error (exit 2) naming the flag
 * for text that is no number or duration. Ranges are the node's to check
 * (checkNodeOptions in node-option-flags.ts).
 */
export function shadowOptionsFromFlags(flags: ShadowNodeFlags): ShadowOptions {
  if (!/^\s*(\d+(\.\d*)?|\.\d+)\s*$/.test(flags.shadowBusyThreshold)) {
    throw usageError(`--shadow-busy-threshold must be a fraction above 0 and at most 1 (e.g. 0.6), not '${flags.shadowBusyThreshold}'`);
  }
  return {
    queueSize: integerFlag('--shadow-queue-size', flags.shadowQueueSize, 0),
    concurrency: integerFlag('--shadow-concurrency', flags.shadowConcurrency, 0),
    timeoutMs: parseDuration(flags.shadowTimeout, '--shadow-timeout'),
    maxWaitMs: parseDuration(flags.shadowMaxWait, '--shadow-max-wait'),
    busyThreshold: Number(flags.shadowBusyThreshold),
  };
}
