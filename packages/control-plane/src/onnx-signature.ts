import { InferenceSession } from 'onnxruntime-node';
import { fromOrtType, invalidArgument, type Signature, type TensorSpec } from '@switchyard/core';

type ValueMetadata = InferenceSession.ValueMetadata;

// One thread each: the control plane only opens the model to read its
// signature, and must not take every core from the admin API to do so.
const SESSION_OPTIONS: InferenceSession.SessionOptions = { intraOpNumThreads: 1, interOpNumThreads: 1 };

function toDim(dim: number | string): number {
  // Symbolic ("batch") and unknown dimensions are both variable-size.
  return typeof dim === 'number' && Number.isSafeInteger(dim) && dim >= 0 ? dim : -1;
}

function toSpec(meta: ValueMetadata, role: 'input' | 'output'): TensorSpec {
  if (!meta.isTensor) {
    throw invalidArgument(`${role} '${meta.name}' is not a tensor (a sequence or map); Switchyard serves tensor inputs and outputs only`);
  }
  const datatype = fromOrtType(meta.type);
  if (!datatype) {
    throw invalidArgument(
      `${role} '${meta.name}' has element type ${meta.type}, which Switchyard cannot serve; ` +
        'export the model with a numeric or bool type (e.g. float32 instead of float16)',
    );
  }
  return { name: meta.name, datatype, shape: meta.shape.map(toDim) };
}

/**
 * Reads the signature (inputs and outputs with datatypes and shapes) of an
 * ONNX model by opening it in onnxruntime, which also proves the nodes will
 * be able to load it.
 * @throws INVALID_ARGUMENT when onnxruntime rejects the bytes, or a tensor
 *   has a type Switchyard cannot serve.
 */
export async function readOnnxSignature(bytes: Uint8Array): Promise<Signature> {
  let session: InferenceSession;
  try {
    session = await InferenceSession.create(bytes, SESSION_OPTIONS);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    throw invalidArgument(`not a loadable ONNX model: ${message}`);
  }
  try {
    const inputs = session.inputMetadata.map((m) => toSpec(m, 'input'));
    const outputs = session.outputMetadata.map((m) => toSpec(m, 'output'));
    if (inputs.length === 0 || outputs.length === 0) {
      throw invalidArgument('the model has no inputs or no outputs; Switchyard needs at least one of each');
    }
    return { inputs, outputs };
  } finally {
    await session.release();
  }
}
