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
  private inFlight = 0;
  private closing: Promise<void> | undefined;
  private drained: (() => void) | undefined;

  constructor(
    readonly record: VersionRecord,
    readonly session: VersionSession,
    readonly stats: VersionStats,
    /** From the start of its load (fetch and checks included) to ready. */
    readonly loadMs: number,
    /** Of that, creating, checking and warming up its session. @default loadMs */
    readonly sessionMs: number = loadMs,
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

  /** Marks a request as using the session. False once the version is unloading. */
  acquire(): boolean {
    if (this.closing) return false;
    this.inFlight++;
    return true;
  }

  release(): void {
    this.inFlight--;
    if (this.inFlight === 0) this.drained?.();
  }

  /** Refuses new requests, waits for the running ones, then frees the session. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      if (this.inFlight > 0) await new Promise<void>((resolve) => (this.drained = resolve));
      await this.session.release();
    })();
    return this.closing;
  }
}
