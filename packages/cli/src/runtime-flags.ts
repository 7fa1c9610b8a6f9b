import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { checkRuntimeSettings, DEFAULT_RUNTIME, runtimeToMessage, SwitchyardError, type RuntimeSettings, type RuntimeSettingsMessage } from '@switchyard/core';
import { parseDuration } from './duration.js';
import { usageError } from './exit-codes.js';
import { integerFlag } from './integer-flag.js';

/** The runtime-settings flags of deploy and models update (issue #17, docs/operations.md "Runtime settings"). */
export interface RuntimeFlags {
  runtime?: string;
  maxBatchSize?: string;
  maxBatchDelay?: string;
  preferredBatchSizes?: string;
  instances?: string;
  intraOpThreads?: string;
  queueSize?: string;
  queueTimeout?: string;
  warmup?: string;
  runTimeout?: string;
}

/** Adds the runtime-settings flags; `what` names what they set ("the version", "the model's versions by default"). */
export function addRuntimeFlags(command: Command, what: string): Command {
  return command
    .option('--runtime <file.json>', `runtime settings of ${what} as JSON, e.g. {"maxBatchSize": 32, "maxBatchDelayMs": 2}; the flags below override it`)
    .option('--max-batch-size <n>', `most rows one run takes: concurrent requests are batched up to it (default ${DEFAULT_RUNTIME.maxBatchSize}: no batching)`)
    .option('--max-batch-delay <duration>', 'longest a request waits for company while another instance is free, e.g. 2ms (default 0)')
    .option('--preferred-batch-sizes <list>', 'batch sizes that run at once when reached, e.g. 8,16,32')
    .option('--instances <n>', `sessions, each in a worker thread of its own, sharing one queue (default ${DEFAULT_RUNTIME.instances})`)
    .option('--intra-op-threads <n>', "onnxruntime threads per run; 0: the node's setting (default 0)")
    .option('--queue-size <n>', `requests that may wait per node; more are refused with RESOURCE_EXHAUSTED (default ${DEFAULT_RUNTIME.queueSize})`)
    .option('--queue-timeout <duration>', "longest wait in the queue before a request is dropped, e.g. 100ms (default: the caller's deadline only)")
    .option('--warmup <samples|zeros>', "warm-up input at load: the version's first sample (default; zeros when it has none) or zeros")
    .option(
      '--run-timeout <duration>',
      "longest run, for runs a node can stop (those in a session process), e.g. 5s; the caller's deadline shortens it (default: the node's --run-timeout)",
    );
}

/** The settings the flags give, checked; undefined when none was given. */
export async function runtimeFromFlags(flags: RuntimeFlags): Promise<RuntimeSettingsMessage | undefined> {
  let settings: Record<string, unknown> = {};
  if (flags.runtime !== undefined) {
    let text: string;
    try {
      text = await readFile(flags.runtime, 'utf8');
    } catch (err) {
      throw usageError(`cannot read --runtime ${flags.runtime}: ${(err as Error).message}`);
    }
    try {
      settings = JSON.parse(text) as Record<string, unknown>;
    } catch (err) {
      throw usageError(`--runtime ${flags.runtime} is not JSON: ${(err as Error).message}`);
    }
  }
  const count = (flag: string, value: string | undefined, min: number) => (value === undefined ? undefined : integerFlag(flag, value, min));
  const given: Record<string, unknown> = {
    maxBatchSize: count('--max-batch-size', flags.maxBatchSize, 1),
    maxBatchDelayMs: flags.maxBatchDelay === undefined ? undefined : parseDuration(flags.maxBatchDelay, '--max-batch-delay'),
    preferredBatchSizes: flags.preferredBatchSizes === undefined ? undefined : flags.preferredBatchSizes.split(',').map((p) => integerFlag('--preferred-batch-sizes', p, 1)),
    instances: count('--instances', flags.instances, 1),
    intraOpThreads: count('--intra-op-threads', flags.intraOpThreads, 0),
    queueSize: count('--queue-size', flags.queueSize, 1),
    queueTimeoutMs: flags.queueTimeout === undefined ? undefined : parseDuration(flags.queueTimeout, '--queue-timeout'),
    warmup: flags.warmup,
    runTimeoutMs: flags.runTimeout === undefined ? undefined : parseDuration(flags.runTimeout, '--run-timeout'),
  };
  for (const [k, v] of Object.entries(given)) if (v !== undefined) settings[k] = v;
  if (Object.keys(settings).length === 0) return undefined;
  let checked: RuntimeSettings;
  try {
    checked = checkRuntimeSettings(settings);
  } catch (err) {
    throw usageError(err instanceof SwitchyardError ? err.rawMessage : String(err));
  }
  return runtimeToMessage(checked) ?? undefined;
}

/** Settings in force as one line, e.g. "batch ≤ 32 (delay 2 ms), 1 instance, queue 1024, no queue time-out, warm-up on samples, node's run time-out". */
export function formatRuntime(m: RuntimeSettingsMessage | null | undefined): string {
  if (!m) return 'defaults';
  const batch = (m.max_batch_size ?? 1) > 1 ? `batch ≤ ${m.max_batch_size} (delay ${m.max_batch_delay_ms ?? 0} ms${m.preferred_batch_sizes?.length ? `, preferred ${m.preferred_batch_sizes.join('/')}` : ''})` : 'no batching';
  const instances = m.instances ?? 1;
  return [
    batch,
    `${instances} instance${instances === 1 ? '' : 's'}`,
    `intra-op threads ${m.intra_op_threads ? m.intra_op_threads : "node's"}`,
    `queue ${m.queue_size ?? DEFAULT_RUNTIME.queueSize}`,
    m.queue_timeout_ms ? `queue time-out ${m.queue_timeout_ms} ms` : 'no queue time-out',
    `warm-up on ${m.warmup ?? 'samples'}`,
    m.run_timeout_ms ? `run time-out ${m.run_timeout_ms} ms` : "node's run time-out",
  ].join(', ');
}
