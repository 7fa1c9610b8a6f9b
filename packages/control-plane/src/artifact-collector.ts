import { PeriodicTask } from './periodic-task.js';
import type { Clock, Logger } from '@switchyard/core';
import type { ArtifactStore } from './artifact-store.js';
import { STALE_TEMP_MS } from './artifact-store-file.js';
import type { EtcdTables } from './etcd-tables.js';
import { mentionedShas, orphanedEntries } from './retirement-artifacts.js';

/** Options for {@link ArtifactCollector}. */
export interface ArtifactCollectorOptions {
  tables: EtcdTables;
  artifacts: ArtifactStore;
  clock: Clock;
  logger: Logger;
  /** How long an entry no version names is kept after it was last stored. */
  graceMs: number;
  /** Real time between two sweeps. */
  intervalMs: number;
  /** Upload temp files untouched for this long are removed. @default STALE_TEMP_MS (1 h) */
  staleUploadMs?: number;
}

/** What one sweep removed. */
export interface CollectReport {
  /** sha256s deleted: no version named them and they were older than the grace. */
  deleted: string[];
  bytes: number;
  staleUploads: number;
}

/**
 * Removes from this replica's artifact store what no version will ever need:
 * entries no version record names (uploads never turned into a version,
 * samples documents of a CreateVersion that failed) once past their grace,
 * and upload temp files a crashed process left. Retirement deletes the
 * artifacts of retired versions; this deletes those of no version at all.
 * Every replica sweeps its own store, as every replica applies retirement's
 * collection: on a shared volume the second deletion finds nothing.
 */
export class ArtifactCollector {
  readonly #task: PeriodicTask<CollectReport>;

  constructor(private readonly o: ArtifactCollectorOptions) {
    this.#task = new PeriodicTask({
      run: () => this.#sweep(),
      intervalMs: o.intervalMs,
      logger: o.logger,
      failureMessage: 'artifact collection failed; retrying at the next sweep',
    });
  }

  start(): void {
    this.#task.start();
  }

  stop(): Promise<void> {
    return this.#task.stop();
  }

  /** One sweep now; concurrent calls share it. */
  sweepOnce(): Promise<CollectReport> {
    return this.#task.runOnce();
  }

  /** Every sha256 a stored version names, valid record or not. */
  async #referenced(): Promise<Set<string>> {
    const { kvs } = await this.o.tables.access.range({ prefix: this.o.tables.keys.versionsPrefix() });
    return mentionedShas(kvs.map((kv) => kv.value.toString('utf8')));
  }

  async #sweep(): Promise<CollectReport> {
    const { artifacts, logger } = this.o;
    const now = this.o.clock.now();
    const report: CollectReport = { deleted: [], bytes: 0, staleUploads: await artifacts.removeStaleUploads(now, this.o.staleUploadMs ?? STALE_TEMP_MS) };
    const candidates = orphanedEntries(await artifacts.list(), new Set(), now, this.o.graceMs);
    if (candidates.length === 0) return report;
    // Read after listing: a version created before the listing keeps its
    // artifact; one created since has an upload younger than the grace.
    const referenced = await this.#referenced();
    for (const entry of orphanedEntries(candidates, referenced, now, this.o.graceMs)) {
      if (!(await artifacts.delete(entry.sha256))) continue;
      report.deleted.push(entry.sha256);
      report.bytes += entry.size;
      logger.info('artifact collected: no version names it', { sha256: entry.sha256, bytes: entry.size, storedAgoMs: Math.round(now - entry.storedAtMs) });
    }
    return report;
  }
}
