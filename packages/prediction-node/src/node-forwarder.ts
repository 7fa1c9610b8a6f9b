import * as grpc from '@grpc/grpc-js';
import { FORWARDED_METADATA_KEY, ROUTED_VERSION_METADATA_KEY, SwitchyardError, type ModelInferRequest, type ModelInferResponse } from '@switchyard/core';
import { inferenceService } from '@switchyard/core/grpc';

/** Options for {@link NodeForwarder}. */
export interface NodeForwarderOptions {
  /** This node's id, sent in {@link FORWARDED_METADATA_KEY}. */
  nodeId: string;
  /** Largest message either way, as the node's own server allows. */
  maxMessageBytes: number;
  /** Credentials towards the other nodes. @default plaintext */
  credentials?: grpc.ChannelCredentials;
}

/**
 * Sends a ModelInfer this node does not serve to a node that holds the
 * version (issue #16). One channel per peer address, opened on first use and
 * kept (a cluster has few nodes); each forwarded call carries
 * {@link FORWARDED_METADATA_KEY}, so the peer never forwards it again, and
 * the caller's deadline.
 */
export class NodeForwarder {
  private readonly clients = new Map<string, grpc.Client>();
  private readonly ctor = inferenceService();

  constructor(private readonly options: NodeForwarderOptions) {}

  /**
   * The peer's answer, or its error as a SwitchyardError (a dead peer: UNAVAILABLE).
   * `hop`, for a traced request, starts its span, adds the trace context to the call's metadata, and returns what ends the span.
   */
  forward(
    address: string,
    request: ModelInferRequest,
    routedVersion: string | undefined,
    deadline: grpc.Deadline,
    hop?: (metadata: grpc.Metadata) => (error?: unknown) => void,
  ): Promise<ModelInferResponse> {
    const client = this.client(address);
    const metadata = new grpc.Metadata();
    metadata.set(FORWARDED_METADATA_KEY, this.options.nodeId);
    if (routedVersion !== undefined) metadata.set(ROUTED_VERSION_METADATA_KEY, routedVersion);
    const ended = hop?.(metadata);
    const method = (client as unknown as Record<string, Function>)['ModelInfer']!;
    return new Promise((resolve, reject) =>
      method.call(client, request, metadata, { deadline }, (err: grpc.ServiceError | null, response: ModelInferResponse) => {
        const error = err ? SwitchyardError.from(err) : undefined;
        ended?.(error);
        if (error) reject(error);
        else resolve(response);
      }),
    );
  }

  close(): void {
    for (const client of this.clients.values()) client.close();
    this.clients.clear();
  }

  private client(address: string): grpc.Client {
    let client = this.clients.get(address);
    if (!client) {
      client = new this.ctor(address, this.options.credentials ?? grpc.credentials.createInsecure(), {
        'grpc.max_receive_message_length': this.options.maxMessageBytes,
        'grpc.max_send_message_length': this.options.maxMessageBytes,
      });
      this.clients.set(address, client);
    }
    return client;
  }
}
