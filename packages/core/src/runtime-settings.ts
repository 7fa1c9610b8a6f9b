import { z } from 'zod';
import { invalidArgument } from './errors.js';
import type { RuntimeSettingsMessage } from './admin-types.js';
import type { Signature } from './schemas.js';

/**
 * How a node runs one model version (issue #17, docs/operations.md,
 * "Runtime settings"): dynamic batching, sessions, queue bounds. Every field
 * is optional in storage: a version's own value wins, then its model's
 * default, then {@link DEFAULT_RUNTIME}. Stored as `runtime` on model and
 * version records; absent on records written before it existed.
 */
export const RuntimeSettingsSchema = z.object({
  /** Most rows one run may take; 1 (the default) turns batching off. */
  maxBatchSize: z.number().int().min(1).max(4096).optional(),
  /** Longest a queued request waits for company while another instance is free, in ms. */
  maxBatchDelayMs: z.number().min(0).max(10_000).optional(),
  /** Batch sizes that run at once when reached, without waiting for the delay. */
  preferredBatchSizes: z.array(z.number().int().min(1).max(4096)).max(16).optional(),
  /** Sessions of the version, each in a worker thread of its own, sharing one queue. */
  instances: z.number().int().min(1).max(16).optional(),
  /** onnxruntime intra-op threads per session; 0: the node's setting. */
  intraOpThreads: z.number().int().min(0).max(64).optional(),
  /** Requests that may wait in the version's queue; past it a request is refused with RESOURCE_EXHAUSTED. */
  queueSize: z.number().int().min(1).max(100_000).optional(),
  /** Longest a request waits in the queue before it is dropped (DEADLINE_EXCEEDED), in ms; 0: no limit but the caller's deadline. */
  queueTimeoutMs: z.number().min(0).max(600_000).optional(),
  /** Warm-up runs at load: `samples` (the version's samples, zeros when it has none) or `zeros`. */
  warmup: z.enum(['samples', 'zeros']).optional(),
  /**
   * Longest run of the version, in ms, for runs that can be stopped (those
   * in a session process); the caller's deadline shortens it. 0: the
   * node's `--run-timeout`.
   */
  runTimeoutMs: z.number().min(0).max(3_600_000).optional(),
});
export type RuntimeSettings = z.infer<typeof RuntimeSettingsSchema>;
/** Runtime settings with every field resolved. */
export type ResolvedRuntime = Required<RuntimeSettings>;

/** What applies when neither the version nor its model says. */
export const DEFAULT_RUNTIME: Readonly<ResolvedRuntime> = Object.freeze({
  maxBatchSize: 1,
  maxBatchDelayMs: 0,
  preferredBatchSizes: [],
  instances: 1,
  intraOpThreads: 0,
  queueSize: 1024,
  queueTimeoutMs: 0,
  warmup: 'samples',
  runTimeoutMs: 0,
});

/** The settings in force: the version's value, else the model's, else the default, field by field. */
export function resolveRuntime(model: RuntimeSettings | undefined, version: RuntimeSettings | undefined): ResolvedRuntime {
  const out = { ...DEFAULT_RUNTIME } as Record<string, unknown>;
  for (const source of [model, version]) {
    if (!source) continue;
    for (const [k, v] of Object.entries(source)) if (v !== undefined) out[k] = v;
  }
  return out as ResolvedRuntime;
}

/** A stable text of resolved settings: two loads with the same key need no swap. */
export function runtimeKey(r: ResolvedRuntime): string {
  return JSON.stringify([r.maxBatchSize, r.maxBatchDelayMs, r.preferredBatchSizes, r.instances, r.intraOpThreads, r.queueSize, r.queueTimeoutMs, r.warmup, r.runTimeoutMs]);
}

/**
 * Checks settings given by a caller and returns them without absent fields.
 * @param signature when known, a batch size above 1 is refused on a model
 *   with an input whose first dimension is fixed, naming that input.
 * @throws INVALID_ARGUMENT naming the field.
 */
export function checkRuntimeSettings(input: unknown, signature?: Signature, field = 'runtime'): RuntimeSettings {
  const parsed = RuntimeSettingsSchema.strict().safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw invalidArgument(`${field}.${issue.path.join('.') || '(document)'}: ${issue.message}`);
  }
  const s = Object.fromEntries(Object.entries(parsed.data).filter(([, v]) => v !== undefined)) as RuntimeSettings;
  const max = s.maxBatchSize;
  for (const p of s.preferredBatchSizes ?? []) {
    if (max !== undefined && p > max) throw invalidArgument(`${field}.preferredBatchSizes: ${p} is above maxBatchSize ${max}`);
  }
  if (signature && max !== undefined && max > 1) {
    const fixed = fixedFirstDimension(signature);
    if (fixed) {
      throw invalidArgument(
        `${field}.maxBatchSize: ${max} needs a variable first dimension on every input, and input '${fixed.name}' has shape [${fixed.shape.join(', ')}]; ` +
          'export the model with a dynamic batch dimension, or leave maxBatchSize at 1',
      );
    }
  }
  return s;
}

/** The first input whose first dimension is fixed (no batch can be made along it), if any. */
function fixedFirstDimension(signature: Signature): Signature['inputs'][number] | undefined {
  return signature.inputs.find((t) => t.shape.length === 0 || t.shape[0] !== -1);
}

/** A version as {@link checkInheritedRuntime} needs it. */
export interface RuntimeHeir {
  version: string;
  signature: Signature;
  /** The version's own settings, which win over the model's. */
  runtime?: RuntimeSettings | undefined;
}

/**
 * Checks a model's new default settings against each version that would
 * take them (a version's own values win): a batch size above 1 on a version
 * with a fixed first dimension, or preferred batch sizes above the batch
 * size in force, is refused, naming the version and the input.
 * @throws INVALID_ARGUMENT naming the field, the version and the input.
 */
export function checkInheritedRuntime(model: RuntimeSettings | undefined, versions: Iterable<RuntimeHeir>, field = 'runtime'): void {
  if (!model) return;
  for (const v of versions) {
    const inForce = resolveRuntime(model, v.runtime);
    const fixed = fixedFirstDimension(v.signature);
    if (inForce.maxBatchSize > 1 && fixed && v.runtime?.maxBatchSize === undefined) {
      throw invalidArgument(
        `${field}.maxBatchSize: ${inForce.maxBatchSize} would apply to version '${v.version}', which sets none of its own, and its input '${fixed.name}' has shape [${fixed.shape.join(', ')}] ` +
          '(batching needs a variable first dimension on every input); leave the model\'s maxBatchSize at 1 and set it per version at deploy, ' +
          'or give such a version maxBatchSize 1 of its own (deploy --max-batch-size 1)',
      );
    }
    const over = inForce.preferredBatchSizes.find((p) => p > inForce.maxBatchSize);
    if (over !== undefined && inForce.maxBatchSize > 1 && (v.runtime?.maxBatchSize === undefined || v.runtime.preferredBatchSizes === undefined)) {
      throw invalidArgument(`${field}: version '${v.version}' would run with preferredBatchSizes ${over} above its maxBatchSize ${inForce.maxBatchSize}; make them agree`);
    }
  }
}

/** Whether every input of `signature` has a variable first dimension, so requests can be concatenated along it. */
export function batchable(signature: Signature): boolean {
  return signature.inputs.every((t) => t.shape.length > 0 && t.shape[0] === -1) && signature.outputs.every((t) => t.shape.length > 0 && t.shape[0] === -1);
}

const MESSAGE_FIELDS = [
  ['max_batch_size', 'maxBatchSize'],
  ['max_batch_delay_ms', 'maxBatchDelayMs'],
  ['instances', 'instances'],
  ['intra_op_threads', 'intraOpThreads'],
  ['queue_size', 'queueSize'],
  ['queue_timeout_ms', 'queueTimeoutMs'],
  ['warmup', 'warmup'],
  ['run_timeout_ms', 'runTimeoutMs'],
] as const;

/** Settings from their API form, checked ({@link checkRuntimeSettings}); undefined when the message sets nothing. */
export function runtimeFromMessage(message: RuntimeSettingsMessage | null | undefined, signature?: Signature, field = 'runtime'): RuntimeSettings | undefined {
  if (!message) return undefined;
  const out: Record<string, unknown> = {};
  for (const [wire, key] of MESSAGE_FIELDS) {
    const v = message[wire];
    if (v !== undefined && v !== null) out[key] = v;
  }
  if (message.preferred_batch_sizes && message.preferred_batch_sizes.length > 0) out.preferredBatchSizes = message.preferred_batch_sizes;
  const checked = checkRuntimeSettings(out, signature, field);
  return Object.keys(checked).length > 0 ? checked : undefined;
}

/** Settings in their API form; null for none. */
export function runtimeToMessage(settings: RuntimeSettings | undefined): RuntimeSettingsMessage | null {
  if (!settings) return null;
  const out: RuntimeSettingsMessage = { preferred_batch_sizes: settings.preferredBatchSizes ? [...settings.preferredBatchSizes] : [] };
  for (const [wire, key] of MESSAGE_FIELDS) {
    const v = settings[key];
    if (v !== undefined) (out as Record<string, unknown>)[wire] = v;
  }
  return out;
}
