import { InferenceSession } from 'onnxruntime-node';
import { fromOrtType, invalidArgument, unservedTypeReason, type SwitchyardError, type Signature, type TensorSpec } from '@switchyard/core';
import type { TensorMeta } from './validation/validation-protocol.js';

// One thread each: a caller opening a model only to read its signature must
// not take every core from whatever else the process does.
const SESSION_OPTIONS: InferenceSession.SessionOptions = { intraOpNumThreads: 1, interOpNumThreads: 1 };

function toDim(dim: number | string): number {
  // Symbolic ("batch") and unknown dimensions are both variable-size.
  return typeof dim === 'number' && Number.isSafeInteger(dim) && dim >= 0 ? dim : -1;
}

function toSpec(meta: TensorMeta, role: 'input' | 'output'): TensorSpec {
  if (!meta.isTensor) {
    throw invalidArgument(`${role} '${meta.name}' is not a tensor (a sequence or map); Switchyard serves tensor inputs and outputs only`);
  }
  const datatype = fromOrtType(meta.type ?? '');
  if (!datatype) {
    const reason = unservedTypeReason(meta.type ?? '');
    throw invalidArgument(
      `${role} '${meta.name}' has element type ${meta.type}, which Switchyard cannot serve; ` +
        (reason ?? 'export the model with a numeric, bool or string type (e.g. float32)'),
    );
  }
  return { name: meta.name, datatype, shape: (meta.shape ?? []).map(toDim) };
}

/**
 * The signature of a model from how onnxruntime (or the model's protobuf)
 * describes its inputs and outputs.
 * @throws INVALID_ARGUMENT when a tensor has a type Switchyard cannot serve,
 *   or there is no input or no output.
 */
export function signatureFromMetadata(inputs: readonly TensorMeta[], outputs: readonly TensorMeta[]): Signature {
  const signature = { inputs: inputs.map((m) => toSpec(m, 'input')), outputs: outputs.map((m) => toSpec(m, 'output')) };
  if (signature.inputs.length === 0 || signature.outputs.length === 0) {
    throw invalidArgument('the model has no inputs or no outputs; Switchyard needs at least one of each');
  }
  return signature;
}

/** The error for bytes onnxruntime would not open, from its message. */
export function notLoadable(message: string): SwitchyardError {
  // onnxruntime-node refuses to open a model with a bfloat16 input or output (ONNX type 16) at all.
  if (/Unsupported data type: 16\b/.test(message)) return invalidArgument(`an input or output has element type bfloat16: ${unservedTypeReason('bfloat16')}`);
  return invalidArgument(`not a loadable ONNX model: ${message}`);
}

/**
 * Reads the signature (inputs and outputs with datatypes and shapes) of an
 * ONNX model by opening it in onnxruntime in this process. Opening a model
 * can take any time and memory (constant folding runs at load), so a server
 * must never call this on uploaded bytes: CreateVersion reads the signature
 * in the validation child (validation/validate-version.ts).
 * @throws INVALID_ARGUMENT when onnxruntime rejects the bytes, or a tensor
 *   has a type Switchyard cannot serve.
 */
export async function readOnnxSignature(bytes: Uint8Array): Promise<Signature> {
  let session: InferenceSession;
  try {
    session = await InferenceSession.create(bytes, SESSION_OPTIONS);
  } catch (err) {
    throw notLoadable(err instanceof Error ? err.message : String(err));
  }
  try {
    return signatureFromMetadata(session.inputMetadata, session.outputMetadata);
  } finally {
    await session.release();
  }
}
