import { resolveRuntime, unavailable, type ResolvedRuntime, type VersionRecord } from '@switchyard/core';
import { trimHeapSoon } from './heap-trim.js';
import { QueueStats } from './queue-metrics.js';
import type { VersionSession } from './session-interface.js';
import { VersionQueue } from './version-queue.js';
import type { VersionStats } from './version-stats.js';

/** What a loader built beside the first session (model-loader.ts). */
export interface LoadedVersionParts {
  /** Every session of the version (runtime `instances`); the first is `session`. */
  sessions: readonly VersionSession[];
  /** The queue in front of them; requests go through it. */
  queue: VersionQueue;
  /** The settings it was loaded with. */
  runtime: ResolvedRuntime;
  /** What the warm-up ran on. */
  warmupSource?: 'samples' | 'zeros';
}

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
  readonly sessions: readonly VersionSession[];
  readonly queue: VersionQueue;
  readonly runtime: ResolvedRuntime;
  readonly warmupSource: 'samples' | 'zeros' | undefined;

  constructor(
    readonly record: VersionRecord,
    readonly session: VersionSession,
    readonly stats: VersionStats,
    /** From the start of its load (fetch and checks included) to ready. */
    readonly loadMs: number,
    parts?: LoadedVersionParts,
    /** Of loadMs, creating, checking and warming up its session(s). @default loadMs */
    readonly sessionMs: number = loadMs,
  ) {
    this.sessions = parts?.sessions ?? [session];
    this.runtime = parts?.runtime ?? resolveRuntime(undefined, record.runtime);
    this.warmupSource = parts?.warmupSource;
    this.queue =
      parts?.queue ??
      new VersionQueue({
        sessions: this.sessions,
        settings: this.runtime,
        batchable: false,
        stats: new QueueStats(record.model, record.version),
        label: `model '${record.model}' version '${record.version}'`,
      });
  }

  /** The version's queue figures (Prometheus, queue-metrics.ts). */
  get queueStats(): QueueStats {
    return this.queue.stats;
  }

  get model(): string {
    return this.record.model;
  }
  get version(): string {
    return this.record.version;
  }
  get closed(): boolean {
    return this.closing !== undefined;
  }

  /** Resident memory of the version's session processes now (issue #16): outside the node's own resident set. */
  processRssBytes(): number {
    let bytes = 0;
    for (const s of this.sessions) bytes += s.processRssBytes?.() ?? 0;
    return bytes;
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
      // Requests still queued hold the version: they run before it is released (a swap of settings fails none).
      if (this.inFlightCount > 0) await new Promise<void>((resolve) => (this.drained = resolve));
      this.queue.clear(unavailable(`model '${this.model}' version '${this.version}' was unloaded while the request waited; retry`));
      await Promise.all(this.sessions.map((s) => s.release()));
      // Its native memory is free now; glibc keeps it unless asked (heap-trim.ts).
      trimHeapSoon();
    })();
    return this.closing;
  }
}
