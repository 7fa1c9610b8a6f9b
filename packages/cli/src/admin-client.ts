import { createReadStream } from 'node:fs';
import { basename } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { grpcReason } from './grpc-reason.js';
import {
  adminService,
  GrpcStatus,
  SwitchyardError,
  type CreateVersionRequest,
  type ModelStatusMessage,
  type RouteMessage,
  type SetRouteRequest,
  type UploadArtifactHeader,
  type UploadArtifactResponse,
  type VersionMessage,
} from '@switchyard/core';

/** Upload chunk size: well under gRPC's 4 MiB message limit, big enough to keep the stream busy. */
export const UPLOAD_CHUNK_BYTES = 256 * 1024;

/** Options for {@link AdminClient.connect}. */
export interface AdminClientOptions {
  /** Deadline of each unary call. @default 10000 */
  callTimeoutMs?: number;
  /** Deadline of a whole upload. @default 600000 */
  uploadTimeoutMs?: number;
  /** Where the address came from ("--control-plane", ".switchyard/cluster.json"), for error messages. */
  source?: string;
  /** Bearer token for a control plane with access control on. @default $SWITCHYARD_TOKEN */
  token?: string;
}

/** The environment variable a client's bearer token comes from. */
export const TOKEN_ENV = 'SWITCHYARD_TOKEN';

type Callback<T> = (err: grpc.ServiceError | null, value?: T) => void;
type Unary = (request: unknown, metadata: grpc.Metadata, options: grpc.CallOptions, callback: Callback<unknown>) => grpc.ClientUnaryCall;
type ClientStreaming = (metadata: grpc.Metadata, options: grpc.CallOptions, callback: Callback<unknown>) => grpc.ClientWritableStream<unknown>;

/**
 * A promise-based client of the control plane's ModelAdmin service. Every
 * failure is a SwitchyardError; an unreachable control plane says where its
 * address came from and how to start or point at one.
 */
export class AdminClient {
  private constructor(
    readonly address: string,
    private readonly client: grpc.Client,
    private readonly options: Required<Omit<AdminClientOptions, 'token'>>,
    private readonly token: string | undefined,
  ) {}

  static connect(address: string, options: AdminClientOptions = {}): AdminClient {
    const Ctor = adminService();
    return new AdminClient(address, new Ctor(address, grpc.credentials.createInsecure()), {
      callTimeoutMs: options.callTimeoutMs ?? 10_000,
      uploadTimeoutMs: options.uploadTimeoutMs ?? 600_000,
      source: options.source ?? 'given address',
    }, options.token ?? (process.env[TOKEN_ENV] || undefined));
  }

  /**
   * Streams a file to the artifact store: a header with its sha256 and size
   * (the server verifies both), then 256 KiB chunks.
   */
  async uploadArtifact(path: string, header: Omit<UploadArtifactHeader, 'filename'>): Promise<UploadArtifactResponse> {
    const method = this.method<ClientStreaming>('UploadArtifact');
    return new Promise<UploadArtifactResponse>((resolve, reject) => {
      const call = method.call(this.client, this.metadata(), { deadline: Date.now() + this.options.uploadTimeoutMs }, (err, value) =>
        err ? reject(this.convert(err)) : resolve(value as UploadArtifactResponse),
      );
      const send = async (): Promise<void> => {
        call.write({ header: { ...header, filename: basename(path) } });
        for await (const chunk of createReadStream(path, { highWaterMark: UPLOAD_CHUNK_BYTES })) {
          // Respect flow control so a large file is never buffered whole.
          if (!call.write({ chunk })) await new Promise((r) => call.once('drain', r));
        }
        call.end();
      };
      send().catch((err: unknown) => {
        call.cancel();
        reject(SwitchyardError.from(err));
      });
    });
  }

  /** Fields left out take the proto defaults (empty version: the next free vN). */
  createVersion(request: Pick<CreateVersionRequest, 'model' | 'artifact_sha256'> & Partial<CreateVersionRequest>): Promise<VersionMessage> {
    return this.unary<VersionMessage>('CreateVersion', request);
  }

  setRoute(request: Pick<SetRouteRequest, 'model' | 'splits'> & Partial<SetRouteRequest>): Promise<RouteMessage> {
    return this.unary<RouteMessage>('SetRoute', request);
  }

  getRoute(model: string): Promise<RouteMessage> {
    return this.unary<RouteMessage>('GetRoute', { model });
  }

  getModelStatus(model: string): Promise<ModelStatusMessage> {
    return this.unary<ModelStatusMessage>('GetModelStatus', { model });
  }

  close(): void {
    this.client.close();
  }

  private unary<T>(name: string, request: unknown): Promise<T> {
    const method = this.method<Unary>(name);
    return new Promise<T>((resolve, reject) => {
      method.call(this.client, request, this.metadata(), { deadline: Date.now() + this.options.callTimeoutMs }, (err, value) =>
        err ? reject(this.convert(err)) : resolve(value as T),
      );
    });
  }

  private metadata(): grpc.Metadata {
    const metadata = new grpc.Metadata();
    if (this.token) metadata.set('authorization', `Bearer ${this.token}`);
    return metadata;
  }

  private method<T>(name: string): T {
    return (this.client as unknown as Record<string, T>)[name]!;
  }

  private convert(err: grpc.ServiceError): SwitchyardError {
    if (err.code === GrpcStatus.UNAVAILABLE || err.code === GrpcStatus.DEADLINE_EXCEEDED) {
      return new SwitchyardError(
        err.code,
        `cannot reach the control plane at ${this.address} (from ${this.options.source}): ${grpcReason(err)}. ` +
          `Start a local cluster with 'switchyard up', or point --control-plane / SWITCHYARD_CONTROL_PLANE at a running control plane`,
        { cause: err },
      );
    }
    if (err.code === GrpcStatus.UNAUTHENTICATED) {
      return new SwitchyardError(err.code, `${err.details || err.message}; set ${TOKEN_ENV} to a token the control plane accepts`, { cause: err });
    }
    return SwitchyardError.from(err);
  }
}
