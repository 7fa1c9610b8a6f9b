import * as grpc from '@grpc/grpc-js';
import { grpcReason } from '@switchyard/client';
import {
  channelCredentials,
  GrpcStatus,
  inferenceService,
  SwitchyardError,
  type ModelInferRequest,
  type ModelInferResponse,
  type ClientTlsOptions,
  type ModelMetadataResponse,
} from '@switchyard/core';

/** Options for {@link InferenceClient.connect}. */
export interface InferenceClientOptions {
  /** Deadline of each call. @default 30000 */
  callTimeoutMs?: number;
  /** Largest response accepted. @default 64 MiB, the node's own limit */
  maxMessageBytes?: number;
  /** TLS, for nodes serving it; omit for plaintext. */
  tls?: ClientTlsOptions;
}

type Callback<T> = (err: grpc.ServiceError | null, value?: T) => void;
type Unary = (request: unknown, metadata: grpc.Metadata, options: grpc.CallOptions, callback: Callback<unknown>) => grpc.ClientUnaryCall;

/** A promise-based KServe v2 client of one prediction node. */
export class InferenceClient {
  private constructor(
    readonly address: string,
    private readonly client: grpc.Client,
    private readonly callTimeoutMs: number,
  ) {}

  static connect(address: string, options: InferenceClientOptions = {}): InferenceClient {
    const Ctor = inferenceService();
    const maxBytes = options.maxMessageBytes ?? 64 * 1024 * 1024;
    const client = new Ctor(address, channelCredentials(options.tls), {
      'grpc.max_receive_message_length': maxBytes,
      'grpc.max_send_message_length': maxBytes,
    });
    return new InferenceClient(address, client, options.callTimeoutMs ?? 30_000);
  }

  modelMetadata(name: string, version = ''): Promise<ModelMetadataResponse> {
    return this.unary<ModelMetadataResponse>('ModelMetadata', { name, version });
  }

  modelInfer(request: ModelInferRequest): Promise<ModelInferResponse> {
    return this.unary<ModelInferResponse>('ModelInfer', request);
  }

  close(): void {
    this.client.close();
  }

  private unary<T>(name: string, request: unknown): Promise<T> {
    const method = (this.client as unknown as Record<string, Unary>)[name]!;
    return new Promise<T>((resolve, reject) => {
      method.call(this.client, request, new grpc.Metadata(), { deadline: Date.now() + this.callTimeoutMs }, (err, value) =>
        err ? reject(this.convert(err)) : resolve(value as T),
      );
    });
  }

  private convert(err: grpc.ServiceError): SwitchyardError {
    if (err.code === GrpcStatus.UNAVAILABLE || err.code === GrpcStatus.DEADLINE_EXCEEDED) {
      return new SwitchyardError(
        err.code,
        `cannot reach the prediction node at ${this.address}: ${grpcReason(err)}. ` +
          `Check it is running ('switchyard status <model>' lists live nodes), or pass another with --node`,
        { cause: err },
      );
    }
    return SwitchyardError.from(err);
  }
}
