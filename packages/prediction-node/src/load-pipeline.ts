import pLimit, { type LimitFunction } from 'p-limit';
import type { ResolvedRuntime, VersionRecord } from '@switchyard/core';
import type { LoadedVersion } from './loaded-version.js';
import type { PreparedVersion } from './model-loader.js';
import type { VersionLoader } from './reconciler.js';

/** The two stages of a load (ModelLoader's). */
export interface StagedLoader {
  prepare(record: VersionRecord): Promise<PreparedVersion>;
  create(prepared: PreparedVersion, runtime?: ResolvedRuntime): Promise<LoadedVersion>;
}

/**
 * Preparing reads the whole artifact to judge its graph: artifacts this
 * large are prepared one at a time, so eight large models prepared ahead
 * never hold eight files in memory at once.
 */
export const LARGE_ARTIFACT_BYTES = 64 * 1024 * 1024;

/** The default of {@link LoadPipelineOptions.createConcurrency}. */
export const DEFAULT_CREATE_CONCURRENCY = 1;

/** Options for {@link LoadPipeline}. */
export interface LoadPipelineOptions {
  loader: StagedLoader;
  /**
   * Session creations (with their warm-up) at once. One at a time, so a
   * load's memory growth is its own (issue #16 measures it) and a creation
   * on the main thread is not timed with another's; the loads that wait
   * meanwhile have their artifacts fetched, verified and read already.
   * @default 1
   */
  createConcurrency?: number;
}

/**
 * Loads as a pipeline: the stage that needs no session (fetch, verify, read,
 * judge the graph) runs for as many loads as the reconciler starts at once,
 * and session creation and warm-up one at a time behind it. A restarted
 * node with a thousand versions thus creates sessions back to back instead
 * of waiting for each one's file between them.
 */
export class LoadPipeline implements VersionLoader {
  readonly #loader: StagedLoader;
  readonly #creations: LimitFunction;
  readonly #largePrepares = pLimit(1);

  constructor(options: LoadPipelineOptions) {
    this.#loader = options.loader;
    this.#creations = pLimit(options.createConcurrency ?? DEFAULT_CREATE_CONCURRENCY);
  }

  async load(record: VersionRecord, runtime?: ResolvedRuntime): Promise<LoadedVersion> {
    const prepare = (): Promise<PreparedVersion> => this.#loader.prepare(record);
    const prepared = await (record.artifact.size >= LARGE_ARTIFACT_BYTES ? this.#largePrepares(prepare) : prepare());
    return this.#creations(() => this.#loader.create(prepared, runtime));
  }
}
