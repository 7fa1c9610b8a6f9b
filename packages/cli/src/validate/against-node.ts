import { Tensor } from 'onnxruntime-node';
import { InferenceClient, type InputTensor, type OutputTensor } from '@switchyard/client';
import {
  GrpcStatus,
  SwitchyardError,
  toOrtType,
  unavailable,
  type ClientTlsOptions,
  type Sample,
  type SampleTensor,
  type Signature,
  type TensorData,
} from '@switchyard/core';
import { sampleTensorToOrt, tensorToSampleTensor } from '@switchyard/core/ort';

/** What a production node answered for one sample. */
export type NodeAnswer = { kind: 'outputs'; outputs: Record<string, SampleTensor> } | { kind: 'not-served'; message: string };

/** Options for {@link AgainstNode.connect}. */
export interface AgainstNodeOptions {
  address: string;
  token?: string;
  tls?: ClientTlsOptions;
  /** Deadline of one sample's call. @default 30000 */
  deadlineMs?: number;
  /** Wait this long for the node to report SERVING. @default 10000 */
  readyTimeoutMs?: number;
}

/** A sample's inputs as the inference client sends them (raw little-endian contents). */
export function sampleInputs(sample: Sample, signature: Signature): InputTensor[] {
  return signature.inputs.map((spec) => {
    const tensor = sample.inputs[spec.name]!;
    return { name: spec.name, datatype: tensor.datatype, shape: tensor.shape, data: sampleTensorToOrt(tensor).data as TensorData };
  });
}

/** A decoded output in the samples document's JSON-safe form, so both builds' answers compare alike. */
export function outputToSample(output: OutputTensor): SampleTensor {
  return tensorToSampleTensor(new Tensor(toOrtType(output.datatype), output.data as never, output.shape));
}

/**
 * A running production node, asked for explicit versions (`model_version`),
 * so its route plays no part and every answer is the named version's.
 */
export class AgainstNode {
  private constructor(
    readonly address: string,
    private readonly client: InferenceClient,
    private readonly deadlineMs: number,
  ) {}

  /** @throws UNAVAILABLE when the node does not report SERVING in time. */
  static async connect(options: AgainstNodeOptions): Promise<AgainstNode> {
    const client = await InferenceClient.create({
      nodes: [options.address],
      ...(options.token !== undefined ? { token: options.token } : {}),
      ...(options.tls !== undefined ? { tls: options.tls } : {}),
      // One node: another attempt could only go back to it.
      retry: { maxAttempts: 1 },
    });
    const readyMs = options.readyTimeoutMs ?? 10_000;
    try {
      await client.waitForReady(1, readyMs);
    } catch {
      client.close();
      throw unavailable(`--against node ${options.address} is not SERVING after ${readyMs} ms; check the address (a prediction node's gRPC port) and its TLS flags`);
    }
    return new AgainstNode(options.address, client, options.deadlineMs ?? 30_000);
  }

  /** Runs one sample on the node. NOT_FOUND (the version is not loaded there) is an answer, not an error. */
  async run(model: string, version: string, sample: Sample, signature: Signature): Promise<NodeAnswer> {
    try {
      const result = await this.client.infer(model, sampleInputs(sample, signature), { version, deadlineMs: this.deadlineMs });
      return { kind: 'outputs', outputs: Object.fromEntries(Object.entries(result.outputs).map(([name, t]) => [name, outputToSample(t)])) };
    } catch (err) {
      const error = SwitchyardError.from(err);
      if (error.code === GrpcStatus.NOT_FOUND) return { kind: 'not-served', message: error.rawMessage };
      throw error;
    }
  }

  close(): void {
    this.client.close();
  }
}
