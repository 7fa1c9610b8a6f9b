import type { VersionRecord } from '@switchyard/core';
import type { VersionSession } from './session-interface.js';
import type { VersionStats } from './version-stats.js';

/**
 * A model version held in memory with its onnxruntime session (on the main
 * thread or in a worker thread, see {@link VersionSession}). It counts the
 * requests that hold it, so an unload can wait for them before releasing the
 * native session (dropping the reference alone keeps native memory for a
 * long time).
 */
export class LoadedVersion {
  private inFlightCount = 0;
  private closing: Promise<void> | undefined;
  private drained: (() => void) | undefined;
  /**
   * What this copy costs: resident-memory growth across its session's
   * creation and warm-up (issue #16), at least its artifact's size; set by
   * the loader, 0 when it was not measured.
   */
  memoryBytes = 0;
  /** Wall-clock ms when it became READY (set by the reconciler): its recency before any request. */
  loadedAtMs = Date.now();

  constructor(
    readonly record: VersionRecord,
    readonly session: VersionSession,
    readonly stats: VersionStats,
    readonly loadMs: number,
  ) {}

  get model(): string {
    return this.record.model;
  }
  get version(): string {
    return this.record.version;
  }
  get closed(): boolean {
    return this.closing !== undefined;
  }

  /** Requests using the session now. */
  get inFlight(): number {
    return this.inFlightCount;
  }

  /** Marks a request as using the session. False once the version is unloading. */
  acquire(): boolean {
    if (this.closing) return false;
    this.inFlightCount++;
    return true;
  }

  release(): void {
    this.inFlightCount--;
    if (this.inFlightCount === 0) this.drained?.();
  }

  /** Refuses new requests, waits for the running ones, then frees the session. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      if (this.inFlightCount > 0) await new Promise<void>((resolve) => (this.drained = resolve));
      await this.session.release();
    })();
    return this.closing;
  }
}
