import type { ServerWritableStream, UntypedServiceImplementation } from '@grpc/grpc-js';
import { GrpcStatus, SAMPLES_ROLE, SwitchyardError, getCaller, notFound, roleAllows, type Int64, type Logger } from '@switchyard/core';
import { isSha256, type ArtifactStore } from './artifact-store.js';
import { toReportedError } from './grpc-handlers.js';

/** Bytes per ArtifactChunk: well under gRPC's default 4 MiB message limit. */
export const ARTIFACT_CHUNK_BYTES = 256 * 1024;

/** FetchArtifact's request. */
export interface FetchArtifactRequest {
  sha256: string;
}

/** One message of the FetchArtifact stream; only the first carries the size. */
export interface ArtifactChunk {
  size?: Int64;
  data: Uint8Array;
}

/** Options for {@link ArtifactService}. */
export interface ArtifactServiceOptions {
  artifacts: ArtifactStore;
  logger: Logger;
}

type FetchCall = ServerWritableStream<FetchArtifactRequest, ArtifactChunk>;

/** Resolves when the call can take more messages, or will never need to. */
function writable(call: FetchCall): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      call.off('drain', done);
      call.off('cancelled', done);
      call.off('close', done);
      resolve();
    };
    call.on('drain', done);
    call.on('cancelled', done);
    call.on('close', done);
  });
}

/**
 * Whether the first bytes of a stored entry are a samples document: those are
 * JSON objects (serializeSamplesDocument), while an ONNX model is protobuf,
 * whose first byte is a field tag and never '{' (field 15 as a group, which
 * ModelProto does not have). Judged from the bytes because the store keeps
 * both kinds under their sha256 alone.
 */
export function isSamplesDocument(first: Uint8Array): boolean {
  for (const byte of first) {
    // JSON whitespace may precede the object.
    if (byte === 0x20 || byte === 0x09 || byte === 0x0a || byte === 0x0d) continue;
    return byte === 0x7b;
  }
  return false;
}

/** ArtifactService: prediction nodes download artifacts from the store through it. */
export class ArtifactService {
  readonly #artifacts: ArtifactStore;
  readonly #logger: Logger;

  constructor(options: ArtifactServiceOptions) {
    this.#artifacts = options.artifacts;
    this.#logger = options.logger;
  }

  /** grpc-js handlers for `server.addService(artifactService().service, ...)`. */
  handlers(): UntypedServiceImplementation {
    return { FetchArtifact: (call: FetchCall) => void this.#fetch(call) };
  }

  async #fetch(call: FetchCall): Promise<void> {
    try {
      const { sha256 } = call.request;
      if (!isSha256(sha256)) throw notFound(`'${sha256}' is not a sha256 (64 lower-case hex digits), so no artifact has it`);
      const { stream, size } = await this.#artifacts.open(sha256);
      call.on('cancelled', () => stream.destroy());
      let first = true;
      try {
        for await (const buffer of stream) {
          const bytes = buffer as Buffer;
          if (first) checkReadable(call, bytes);
          for (let offset = 0; offset < bytes.byteLength && !call.cancelled; offset += ARTIFACT_CHUNK_BYTES) {
            const data = bytes.subarray(offset, offset + ARTIFACT_CHUNK_BYTES);
            const chunk: ArtifactChunk = first ? { size: String(size), data } : { data };
            first = false;
            if (!call.write(chunk)) await writable(call);
          }
          if (call.cancelled) return;
        }
      } finally {
        stream.destroy();
      }
      // An empty artifact still tells the client its size.
      if (first) call.write({ size: '0', data: new Uint8Array(0) });
      call.end();
    } catch (err) {
      if (call.cancelled) return;
      call.emit('error', toReportedError(this.#logger, 'FetchArtifact', err).toServiceError());
    }
  }
}

/**
 * Refuses a samples document to a caller below SAMPLES_ROLE, before any of it
 * is sent. The sha256 alone reveals nothing: viewers see it in the version.
 * @throws PERMISSION_DENIED
 */
function checkReadable(call: FetchCall, first: Uint8Array): void {
  if (!isSamplesDocument(first)) return;
  const caller = getCaller(call);
  if (roleAllows(caller.role, SAMPLES_ROLE)) return;
  throw new SwitchyardError(
    GrpcStatus.PERMISSION_DENIED,
    `token '${caller.name}' has role ${caller.role}; reading a samples document (sample inputs and golden outputs) through FetchArtifact needs ${SAMPLES_ROLE} (ask an admin for a token with that role)`,
  );
}
