import type { Readable } from 'node:stream';

/** A lower-case hex sha256, the name of every artifact. */
export const SHA256_PATTERN = /^[0-9a-f]{64}$/;

/** Whether `value` is a well-formed artifact name (lower-case hex sha256). */
export function isSha256(value: string): boolean {
  return SHA256_PATTERN.test(value);
}

/** Options for {@link ArtifactStore.put}. */
export interface ArtifactPutOptions {
  /** The sha256 the client says the bytes have; checked after the last chunk. */
  expectedSha256?: string;
  /** The size the client says the bytes have; checked after the last chunk. */
  expectedSize?: number;
  /** Refuse (RESOURCE_EXHAUSTED) as soon as more than this many bytes arrive. */
  maxBytes: number;
}

/** What {@link ArtifactStore.put} stored. */
export interface ArtifactPutResult {
  sha256: string;
  size: number;
  /** True when the store already held these bytes (nothing new was written). */
  existed: boolean;
}

/** One entry of the store, as {@link ArtifactStore.list} reports it. */
export interface StoredEntry {
  sha256: string;
  size: number;
  /** When it was last stored: written, or uploaded again (ms since the epoch). */
  storedAtMs: number;
}

/** An artifact opened for reading. */
export interface OpenedArtifact {
  /** The artifact's bytes; the caller must consume or destroy it. */
  stream: Readable;
  size: number;
}

/**
 * A content-addressed store of model artifacts, keyed by the sha256 of their
 * bytes. Content addressing makes puts idempotent and lets every node verify
 * what it downloaded, whatever the backend (local disk now, an object store
 * later).
 */
export interface ArtifactStore {
  /**
   * Stores the bytes of `chunks`, hashing them on the way. Nothing becomes
   * visible under the artifact's name until every check has passed.
   * @throws RESOURCE_EXHAUSTED past `maxBytes`; INVALID_ARGUMENT when the
   *   size or sha256 differ from what the caller expected.
   */
  put(chunks: AsyncIterable<Uint8Array>, options: ArtifactPutOptions): Promise<ArtifactPutResult>;
  /** Whether the store holds this artifact; false for a malformed sha256. */
  has(sha256: string): Promise<boolean>;
  /**
   * Opens the artifact for reading.
   * @throws NOT_FOUND when the store does not hold it (or the sha256 is malformed).
   */
  open(sha256: string): Promise<OpenedArtifact>;
  /** Removes the artifact; resolves false when it was not there. */
  delete(sha256: string): Promise<boolean>;
  /** Every entry (models and samples documents), in no particular order. */
  list(): Promise<StoredEntry[]>;
  /**
   * Removes the temp files of uploads nothing has written to for
   * `olderThanMs`: left by a crashed process (a live upload writes at least
   * every upload idle time-out). Resolves how many were removed.
   */
  removeStaleUploads(nowMs: number, olderThanMs: number): Promise<number>;
}

/**
 * Reads a whole artifact into memory, e.g. to hand it to onnxruntime.
 * @throws NOT_FOUND when the store does not hold it.
 */
export async function readArtifact(store: ArtifactStore, sha256: string): Promise<Buffer> {
  const { stream } = await store.open(sha256);
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/**
 * The size of a stored artifact, without reading it.
 * @throws NOT_FOUND when the store does not hold it.
 */
export async function artifactSize(store: ArtifactStore, sha256: string): Promise<number> {
  const { stream, size } = await store.open(sha256);
  stream.destroy();
  return size;
}
