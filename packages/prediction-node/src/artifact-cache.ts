import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { failedPrecondition, sha256File, type Logger } from '@switchyard/core';
import type { ArtifactSource } from './artifact-fetcher.js';

/** Options for {@link ArtifactCache}. */
export interface ArtifactCacheOptions {
  /** Folder that holds `sha256/<hex>` files. */
  dir: string;
  source: ArtifactSource;
  logger: Logger;
}

/**
 * The node's local copy of artifacts, content-addressed like the store.
 * Every file is checked against its sha256 before it is handed out: once
 * after download, and once per process for files found on disk, since a disk
 * can hold a truncated write from a crash.
 */
export class ArtifactCache {
  private readonly verified = new Set<string>();
  private readonly pending = new Map<string, Promise<string>>();

  constructor(private readonly options: ArtifactCacheOptions) {}

  /** The local path of a verified copy of the artifact, downloading it if needed. */
  ensure(sha256: string, size: number): Promise<string> {
    let promise = this.pending.get(sha256);
    if (!promise) {
      promise = this.load(sha256, size).finally(() => this.pending.delete(sha256));
      this.pending.set(sha256, promise);
    }
    return promise;
  }

  /** Folder that holds `sha256/<hex>` files (the cache trimmer lists it). */
  get dir(): string {
    return this.options.dir;
  }

  /** True while the artifact is being verified or downloaded; the cache trimmer leaves it alone. */
  isPending(sha256: string): boolean {
    return this.pending.has(sha256);
  }

  path(sha256: string): string {
    return join(this.options.dir, 'sha256', sha256);
  }

  async remove(sha256: string): Promise<void> {
    this.verified.delete(sha256);
    await rm(this.path(sha256), { force: true });
  }

  private async load(sha256: string, size: number): Promise<string> {
    const path = this.path(sha256);
    if (this.verified.has(sha256)) return path;
    const existing = await stat(path).catch(() => undefined);
    if (existing) {
      if (existing.size === size && (await sha256File(path)) === sha256) {
        this.verified.add(sha256);
        return path;
      }
      this.options.logger.warn('cached artifact is damaged; fetching it again', { sha256 });
      await rm(path, { force: true });
    }
    await this.download(sha256, size, path);
    this.verified.add(sha256);
    return path;
  }

  private async download(sha256: string, size: number, path: string): Promise<void> {
    await mkdir(join(this.options.dir, 'sha256'), { recursive: true });
    const temp = `${path}.${randomBytes(6).toString('hex')}.partial`;
    const hash = createHash('sha256');
    let received = 0;
    const out = createWriteStream(temp);
    try {
      for await (const chunk of this.options.source.fetch(sha256)) {
        hash.update(chunk);
        received += chunk.byteLength;
        if (!out.write(chunk)) await new Promise<void>((r) => out.once('drain', () => r()));
      }
      await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
      const got = hash.digest('hex');
      if (got !== sha256 || received !== size) {
        throw failedPrecondition(
          `artifact sha256 mismatch: expected ${sha256} (${size} bytes), received ${got} (${received} bytes); the store's copy is damaged, upload the model again`,
        );
      }
      await rename(temp, path);
    } catch (err) {
      out.destroy();
      await rm(temp, { force: true });
      throw err;
    }
  }
}
