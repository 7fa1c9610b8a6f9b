import type * as grpc from '@grpc/grpc-js';
import type { UploadArtifactHeader, UploadArtifactRequest, UploadArtifactResponse } from '@switchyard/core';

/** Upload chunk size: well under gRPC's 4 MiB message limit, big enough to keep the stream busy. */
export const UPLOAD_CHUNK_BYTES = 256 * 1024;

/**
 * Called after each chunk is handed to gRPC (and once with 0 at the start).
 * `totalBytes` is the size announced in the header.
 */
export type UploadProgress = (sentBytes: number, totalBytes: number) => void;

/** Starts the client-streaming call; the callback receives its outcome. */
export type StartUpload = (
  callback: (err: grpc.ServiceError | null, value?: UploadArtifactResponse) => void,
) => grpc.ClientWritableStream<UploadArtifactRequest>;

/**
 * Sends one UploadArtifact stream: the header, then `chunks`, waiting for
 * 'drain' whenever gRPC's buffer is full, so a large file is never held in
 * memory whole. Reading stops as soon as the server answers (a refusal may
 * come before the last chunk). A failure to produce chunks (an unreadable
 * file) cancels the call and is what the promise rejects with.
 * @returns the server's response; rejects with the raw gRPC error otherwise.
 */
export function sendUpload(
  start: StartUpload,
  header: UploadArtifactHeader,
  chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  onProgress?: UploadProgress,
): Promise<UploadArtifactResponse> {
  return new Promise<UploadArtifactResponse>((resolve, reject) => {
    let settled = false;
    let answered = false;
    let wake: () => void = () => undefined;
    const settle = (outcome: () => void): void => {
      if (settled) return;
      settled = true;
      outcome();
    };
    const call = start((err, value) => {
      answered = true;
      wake();
      settle(() => (err ? reject(err) : resolve(value as UploadArtifactResponse)));
    });
    // grpc-js also emits a failed call's status as 'error' on the stream; the
    // callback above already reports it, and an unhandled 'error' would throw.
    call.on('error', () => undefined);
    const total = Number(header.size);
    const send = async (): Promise<void> => {
      call.write({ header });
      let sent = 0;
      onProgress?.(0, total);
      for await (const chunk of chunks) {
        if (answered) break;
        const flushed = call.write({ chunk });
        sent += chunk.byteLength;
        onProgress?.(sent, total);
        if (!flushed) {
          await new Promise<void>((resume) => {
            wake = resume;
            call.once('drain', resume);
          });
        }
      }
      if (!answered) call.end();
    };
    send().catch((err: unknown) => {
      settle(() => reject(err));
      call.cancel();
    });
  });
}

/** `bytes` in slices of {@link UPLOAD_CHUNK_BYTES}, without copying. */
export function* byteChunks(bytes: Uint8Array, chunkBytes = UPLOAD_CHUNK_BYTES): Generator<Uint8Array> {
  for (let offset = 0; offset < bytes.byteLength; offset += chunkBytes) yield bytes.subarray(offset, offset + chunkBytes);
}
