import { randomBytes } from 'node:crypto';
import { isDatatype } from '@switchyard/core';
import type { AdminClient, InferenceClient } from '@switchyard/client';
import { failedError, usageError } from './exit-codes.js';
import { buildInputTensor, type InputFlag, type InputTensor } from './tensor-input.js';
import { decodeOutput, type DecodedOutput } from './tensor-output.js';

/** Options for {@link predict}. */
export interface PredictOptions {
  client: InferenceClient;
  model: string;
  /** Empty or omitted: the node's route picks the version. */
  version?: string;
  inputs: InputFlag[];
}

export interface PredictResult {
  model: string;
  /** The version that answered. */
  version: string;
  node: string;
  inputs: InputTensor[];
  outputs: Record<string, DecodedOutput>;
}

/**
 * One ModelInfer call: datatypes come from ModelMetadata, shapes from the
 * JSON arrays, data goes as raw little-endian bytes.
 */
export async function predict(options: PredictOptions): Promise<PredictResult> {
  const { client, model } = options;
  const metadata = await client.modelMetadata(model, options.version ?? '');
  const describe = (): string => metadata.inputs.map((i) => `${i.name} (${i.datatype} [${i.shape.join(',')}])`).join(', ');
  const inputs = options.inputs.map((flag) => {
    const spec = metadata.inputs.find((i) => i.name === flag.name);
    if (!spec) throw usageError(`model ${model} has no input '${flag.name}'; it takes ${describe()}`);
    if (!isDatatype(spec.datatype)) throw failedError(`input '${spec.name}' has datatype ${spec.datatype}, which this CLI cannot encode`);
    return buildInputTensor(flag, spec.datatype);
  });
  const missing = metadata.inputs.filter((spec) => !inputs.some((i) => i.name === spec.name));
  if (missing.length > 0) {
    throw usageError(`missing --input for ${missing.map((m) => m.name).join(', ')}; model ${model} takes ${describe()}`);
  }
  const result = await client.infer(model, inputs, { version: options.version ?? '', id: randomBytes(6).toString('hex') });
  const outputs: Record<string, DecodedOutput> = {};
  for (const [name, tensor] of Object.entries(result.outputs)) outputs[name] = decodeOutput(tensor);
  return { model, version: result.version, node: result.node, inputs, outputs };
}

/**
 * The address of the first node that has the model (or the given version)
 * READY, as the control plane reports it.
 */
export async function findServingNode(admin: AdminClient, model: string, version?: string): Promise<string> {
  const status = await admin.getModelStatus(model);
  const node = status.nodes.find((n) => n.versions.some((v) => v.state === 'READY' && (!version || v.version === version)));
  if (!node) {
    const what = version ? `${model}:${version}` : model;
    throw failedError(`no live node has ${what} READY; see 'switchyard status ${model}', or name a node with --node <host:port>`);
  }
  return node.address;
}
