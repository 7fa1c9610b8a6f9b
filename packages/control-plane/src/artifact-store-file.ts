import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, readdir, rename, rm, stat, utimes, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { invalidArgument, notFound, resourceExhausted, systemClock, type Clock, type Logger } from '@switchyard/core';
import { isSha256, type ArtifactPutOptions, type ArtifactPutResult, type ArtifactStore, type OpenedArtifact, type StoredEntry } from './artifact-store.js';
import { formatBytes } from './format-bytes.js';

/** Temp files of uploads in progress start with this; no sha256 does. */
const TEMP_PREFIX = '.upload-';
/**
 * Temp files untouched for this long were left by a crashed process and are
 * removed at start-up (and by the artifact collector): far above any upload
 * idle time-out, and tolerant of clock skew on a shared volume.
 */
export const STALE_TEMP_MS = 60 * 60 * 1000;
/** Read size of artifact streams: the chunk size of FetchArtifact. */
const READ_CHUNK_BYTES = 256 * 1024;

/** Options for {@link FileArtifactStore.create}. */
export interface FileArtifactStoreOptions {
  /** The control plane's data directory; artifacts live in `<dataDir>/artifacts/sha256/`. */
  dataDir: string;
  logger: Logger;
  /** @default systemClock */
  clock?: Clock;
}

function isErrno(err: unknown, code: string): boolean {
  return typeof err === 'object' && err !== null && (err as NodeJS.ErrnoException).code === code;
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return false;
    throw err;
  }
}

async function writeAll(file: FileHandle, chunk: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < chunk.byteLength) {
    const { bytesWritten } = await file.write(chunk, offset, chunk.byteLength - offset);
    offset += bytesWritten;
  }
}

function tooLarge(maxBytes: number): Error {
  return resourceExhausted(
    `the artifact is larger than the limit of ${formatBytes(maxBytes)} (${maxBytes} bytes); ` +
      'raise the control plane\'s --max-artifact-bytes (maxArtifactBytes) to upload it',
  );
}

/**
 * {@link ArtifactStore} on the local disk: `<dataDir>/artifacts/sha256/<hex>`.
 * Uploads go to a temp file in the same directory and are renamed into place
 * once verified, so a reader never sees a partial artifact, even after a crash.
 */
export class FileArtifactStore implements ArtifactStore {
  /** The directory holding the artifacts. */
  readonly directory: string;
  readonly #logger: Logger;

  protected constructor(directory: string, logger: Logger) {
    this.directory = directory;
    this.#logger = logger;
  }

  /** Creates the directory if needed and removes uploads a crashed process left behind. */
  static async create(options: FileArtifactStoreOptions): Promise<FileArtifactStore> {
    const directory = join(options.dataDir, 'artifacts', 'sha256');
    await mkdir(directory, { recursive: true });
    const store = new FileArtifactStore(directory, options.logger);
    await store.removeStaleUploads((options.clock ?? systemClock).now(), STALE_TEMP_MS);
    return store;
  }

  /**
   * The file an artifact lives in (whether or not it exists).
   * @throws INVALID_ARGUMENT for a malformed sha256, which must never become a path.
   */
  path(sha256: string): string {
    if (!isSha256(sha256)) throw invalidArgument(`'${sha256}' is not a sha256; expected 64 lower-case hex digits`);
    return join(this.directory, sha256);
  }

  async put(chunks: AsyncIterable<Uint8Array>, options: ArtifactPutOptions): Promise<ArtifactPutResult> {
    const expectedSha256 = options.expectedSha256?.toLowerCase() || undefined;
    if (expectedSha256 !== undefined && !isSha256(expectedSha256)) {
      throw invalidArgument(`expected sha256 '${options.expectedSha256}' is not 64 hex digits; send the hex sha256 of the file, or none`);
    }
    if (options.expectedSize !== undefined && options.expectedSize > options.maxBytes) throw tooLarge(options.maxBytes);

    const temp = join(this.directory, `${TEMP_PREFIX}${randomBytes(8).toString('hex')}`);
    const file = await open(temp, 'wx');
    let closed = false;
    let kept = false;
    try {
      const hash = createHash('sha256');
      let size = 0;
      for await (const chunk of chunks) {
        size += chunk.byteLength;
        if (size > options.maxBytes) throw tooLarge(options.maxBytes);
        hash.update(chunk);
        await writeAll(file, chunk);
      }
      // Durable before it is visible: a version may point at it a moment later.
      await file.sync();
      await file.close();
      closed = true;

      const sha256 = hash.digest('hex');
      if (options.expectedSize !== undefined && size !== options.expectedSize) {
        throw invalidArgument(`received ${size} bytes but the header announced ${options.expectedSize}; the upload was cut short or the header is wrong, upload it again`);
      }
      if (expectedSha256 !== undefined && sha256 !== expectedSha256) {
        throw invalidArgument(
          `the received bytes have sha256 ${sha256} but the header expected ${expectedSha256}; the file changed or was corrupted on the way, upload it again`,
        );
      }
      const target = join(this.directory, sha256);
      const existed = await exists(target);
      if (!existed) {
        await rename(temp, target);
        kept = true;
        await this.#syncDirectory();
      } else {
        // Stored again now: the collector's grace for entries no version names starts over,
        // so an upload followed by CreateVersion is not raced by it.
        const now = new Date();
        await utimes(target, now, now).catch(() => undefined);
      }
      return { sha256, size, existed };
    } finally {
      if (!closed) await file.close().catch(() => undefined);
      if (!kept) await rm(temp, { force: true }).catch((err: unknown) => this.#logger.warn('could not remove upload temp file', { path: temp, error: String(err) }));
    }
  }

  async has(sha256: string): Promise<boolean> {
    return isSha256(sha256) && exists(this.path(sha256));
  }

  async open(sha256: string): Promise<OpenedArtifact> {
    if (!isSha256(sha256)) throw notFound(`'${sha256}' is not a sha256 (64 lower-case hex digits), so no artifact has it`);
    let file: FileHandle;
    try {
      file = await open(this.path(sha256), 'r');
    } catch (err) {
      if (isErrno(err, 'ENOENT')) throw notFound(`artifact ${sha256} is not in the store; upload it with UploadArtifact first`);
      throw err;
    }
    try {
      // Size from the open handle, so a concurrent delete cannot make it lie.
      const { size } = await file.stat();
      return { stream: file.createReadStream({ highWaterMark: READ_CHUNK_BYTES }), size };
    } catch (err) {
      await file.close().catch(() => undefined);
      throw err;
    }
  }

  async delete(sha256: string): Promise<boolean> {
    if (!isSha256(sha256)) return false;
    try {
      await rm(this.path(sha256));
      return true;
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return false;
      throw err;
    }
  }

  /** Makes a rename durable; best effort, since not every file system supports it. */
  async #syncDirectory(): Promise<void> {
    try {
      const dir = await open(this.directory, 'r');
      try {
        await dir.sync();
      } finally {
        await dir.close();
      }
    } catch {
      // Not supported here; the rename is still atomic, only less durable.
    }
  }

  async list(): Promise<StoredEntry[]> {
    const entries: StoredEntry[] = [];
    for (const name of await readdir(this.directory)) {
      if (!isSha256(name)) continue;
      try {
        const info = await stat(join(this.directory, name));
        entries.push({ sha256: name, size: info.size, storedAtMs: info.mtimeMs });
      } catch (err) {
        // Deleted between the listing and the stat.
        if (!isErrno(err, 'ENOENT')) throw err;
      }
    }
    return entries;
  }

  async removeStaleUploads(nowMs: number, olderThanMs: number): Promise<number> {
    let removed = 0;
    for (const name of await readdir(this.directory)) {
      if (!name.startsWith(TEMP_PREFIX)) continue;
      const path = join(this.directory, name);
      try {
        // Only old ones: another control plane sharing this directory may be uploading.
        const info = await stat(path);
        if (nowMs - info.mtimeMs < olderThanMs) continue;
        await rm(path, { force: true });
        removed++;
        this.#logger.info('removed an upload left over by a crashed process', { path, bytes: info.size });
      } catch (err) {
        if (!isErrno(err, 'ENOENT')) this.#logger.warn('could not remove a stale upload', { path, error: String(err) });
      }
    }
    return removed;
  }
}
