import type { Sample, SampleTensor, Signature } from '@switchyard/core';

/**
 * The messages between the control plane and its validation child, over the
 * fork IPC channel (JSON, so every value is JSON-safe: sample tensors keep
 * big integers as strings).
 */

/**
 * An input or output as onnxruntime describes it (its ValueMetadata), or as
 * the model's protobuf declares it; the parent turns it into a TensorSpec.
 */
export interface TensorMeta {
  name: string;
  isTensor: boolean;
  /** onnxruntime's element type name ('float32', 'int64', ...); absent for non-tensors. */
  type?: string;
  /** Fixed sizes as numbers, symbolic dimensions as names, unknown ones as ''. */
  shape?: readonly (number | string)[];
}

/**
 * Parent → child, once: what to load and, when the parent already knows the
 * signature, what to run. Without `samples` the child reports the model's
 * signature and waits for a {@link ValidationRun}.
 */
export interface ValidationJob {
  type: 'job';
  /** Local file of the model bytes. */
  artifactPath: string;
  signature?: Signature;
  /** Run in order; the parent passes one all-zero sample when the version has none. */
  samples?: Sample[];
}

/** Parent → child, after 'loaded' when the job had no samples: the runs, built from the signature the child reported. */
export interface ValidationRun {
  type: 'run';
  signature: Signature;
  samples: Sample[];
}

/**
 * Child → parent, in this order: ready, declared (when the protobuf parses),
 * loaded | load-failed, then started/ran per sample, then finished | run-failed.
 */
export type ChildMessage =
  | { type: 'ready' }
  | { type: 'declared'; inputs: TensorMeta[]; outputs: TensorMeta[] }
  | { type: 'loaded'; inputs?: TensorMeta[]; outputs?: TensorMeta[] }
  | { type: 'load-failed'; message: string }
  | { type: 'started'; index: number }
  | { type: 'ran'; index: number; outputs: Record<string, SampleTensor> }
  | { type: 'run-failed'; index: number; message: string }
  | { type: 'finished' };

const TYPES = new Set<string>(['ready', 'declared', 'loaded', 'load-failed', 'started', 'ran', 'run-failed', 'finished']);

/** True for a message of this protocol; anything else on the channel is ignored. */
export function isChildMessage(value: unknown): value is ChildMessage {
  return typeof value === 'object' && value !== null && TYPES.has((value as { type?: unknown }).type as string);
}

/** True for the job message. */
export function isValidationJob(value: unknown): value is ValidationJob {
  return typeof value === 'object' && value !== null && (value as { type?: unknown }).type === 'job';
}

/** True for the run message. */
export function isValidationRun(value: unknown): value is ValidationRun {
  return typeof value === 'object' && value !== null && (value as { type?: unknown }).type === 'run';
}
