import type { Sample, SampleTensor, Signature } from '@switchyard/core';

/**
 * The messages between the control plane and its validation child, over the
 * fork IPC channel (JSON, so every value is JSON-safe: sample tensors keep
 * big integers as strings).
 */

/** Parent → child, once: what to load and what to run. */
export interface ValidationJob {
  type: 'job';
  /** Local file of the model bytes. */
  artifactPath: string;
  signature: Signature;
  /** Run in order; the parent passes one all-zero sample when the version has none. */
  samples: Sample[];
}

/** Child → parent, in this order: ready, loaded | load-failed, then started/ran per sample, then finished | run-failed. */
export type ChildMessage =
  | { type: 'ready' }
  | { type: 'loaded' }
  | { type: 'load-failed'; message: string }
  | { type: 'started'; index: number }
  | { type: 'ran'; index: number; outputs: Record<string, SampleTensor> }
  | { type: 'run-failed'; index: number; message: string }
  | { type: 'finished' };

const TYPES = new Set<string>(['ready', 'loaded', 'load-failed', 'started', 'ran', 'run-failed', 'finished']);

/** True for a message of this protocol; anything else on the channel is ignored. */
export function isChildMessage(value: unknown): value is ChildMessage {
  return typeof value === 'object' && value !== null && TYPES.has((value as { type?: unknown }).type as string);
}

/** True for the job message. */
export function isValidationJob(value: unknown): value is ValidationJob {
  return typeof value === 'object' && value !== null && (value as { type?: unknown }).type === 'job';
}
