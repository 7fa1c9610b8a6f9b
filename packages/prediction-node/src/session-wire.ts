/**
 * The messages between a {@link WorkerSession} and its worker thread
 * (session-worker.ts), and how tensors cross the thread boundary.
 */
import type { InferenceSession, Tensor } from 'onnxruntime-node';

/** Given to the worker at start. */
export interface SessionWorkerData {
  /** The verified artifact in the node's cache. */
  path: string;
  options: InferenceSession.SessionOptions;
  /** Outputs of one run larger than this fail with RESOURCE_EXHAUSTED instead of being sent. @default no limit */
  maxOutputBytes?: number;
}

/** A tensor as structured clone carries it. */
export interface WireTensor {
  type: Tensor.Type;
  dims: readonly number[];
  data: Tensor.DataType;
}

export type ToWorker =
  | { kind: 'run'; id: number; feeds: Record<string, WireTensor>; outputs: readonly string[] | undefined }
  | { kind: 'release'; id: number }
  /** Fault injection for tests: the next run kills the thread with an uncaught error, as a crash would. */
  | { kind: 'crash' };

export type FromWorker =
  | { kind: 'ready'; inputNames: string[]; outputNames: string[]; createMs?: number }
  | { kind: 'failed'; message: string }
  | { kind: 'result'; id: number; outputs: Record<string, WireTensor> }
  /** `code` set when the run hit a limit rather than being refused by onnxruntime. */
  | { kind: 'error'; id: number; message: string; code?: 'RESOURCE_EXHAUSTED' }
  | { kind: 'released'; id: number };

/**
 * Tensors for postMessage, with the buffers that may be transferred.
 * `copy`: the caller keeps using its tensors (a request's feeds are reused
 * by shadows), so typed data is copied into fresh buffers and those are
 * transferred; a structured clone of a view would also copy its whole
 * backing buffer (often the entire gRPC message). Without `copy` (outputs
 * the worker no longer needs), a buffer the tensor spans exactly moves
 * without a copy.
 */
export function toWire(tensors: Record<string, Tensor>, copy: boolean): { wire: Record<string, WireTensor>; transfer: ArrayBuffer[] } {
  const wire: Record<string, WireTensor> = {};
  const transfer = new Set<ArrayBuffer>();
  for (const [name, tensor] of Object.entries(tensors)) {
    let data = tensor.data;
    if (ArrayBuffer.isView(data)) {
      const view = data as Exclude<Tensor.DataType, string[]>;
      const whole = view.byteOffset === 0 && view.byteLength === view.buffer.byteLength && view.buffer instanceof ArrayBuffer;
      if (copy || !whole || transfer.has(view.buffer as ArrayBuffer)) data = view.slice();
      transfer.add((data as Exclude<Tensor.DataType, string[]>).buffer as ArrayBuffer);
    }
    wire[name] = { type: tensor.type, dims: tensor.dims, data };
  }
  return { wire, transfer: [...transfer] };
}

/** Builds tensors back from their wire form, with the given Tensor class (the thread's own onnxruntime). */
export function fromWire(wire: Record<string, WireTensor>, TensorClass: typeof Tensor): Record<string, Tensor> {
  const tensors: Record<string, Tensor> = {};
  for (const [name, t] of Object.entries(wire)) tensors[name] = new TensorClass(t.type as never, t.data as never, t.dims);
  return tensors;
}
