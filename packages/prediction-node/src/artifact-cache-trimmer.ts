import { readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Clock, Logger } from '@switchyard/core';
import type { NodeComponent } from './node-component.js';
import type { RoutingTable } from './routing-table.js';
import { versionKey, type TargetState } from './target-state.js';

const SHA256_NAME = /^[0-9a-f]{64}$/;
/** A `.partial` file this old is left over from a crash; a live download keeps writing to its own. */
const STALE_PARTIAL_MS = 60 * 60 * 1000;

/**
 * The sha256 of the artifacts a node serves or may load: every version
 * record's, except a RETIRED version's (SetRoute refuses it, and retirement
 * marks the record rather than deleting it), unless a route or shadow still
 * names it. Unretiring makes it wanted again; the store keeps the file for
 * its retention, so the node downloads it again if it must.
 */
export function wantedArtifacts(state: TargetState): Set<string> {
  const wanted = new Set<string>();
  for (const record of state.versions.values()) if (record.retirement?.state !== 'RETIRED') wanted.add(record.artifact.sha256);
  for (const route of state.routes.values()) {
    for (const version of [...route.splits.map((s) => s.version), ...route.shadows.map((s) => s.version)]) {
      const record = state.versions.get(versionKey(route.model, version));
      if (record) wanted.add(record.artifact.sha256);
    }
  }
  return wanted;
}

/** Versions read between two turns of the event loop by {@link wantedArtifactsYielding}. */
const VERSIONS_PER_TURN = 500;

/**
 * {@link wantedArtifacts} letting the event loop go every few hundred
 * versions: a node parses a version record the first time it is read
 * (version-map.ts), and the first pass after a start reads all of them,
 * 2.5–4 s of CPU at 100,000 versions, which must not hold up requests.
 */
export async function wantedArtifactsYielding(state: TargetState): Promise<Set<string>> {
  const wanted = new Set<string>();
  let read = 0;
  for (const record of state.versions.values()) {
    if (record.retirement?.state !== 'RETIRED') wanted.add(record.artifact.sha256);
    if (++read % VERSIONS_PER_TURN === 0) await new Promise<void>((resolve) => setImmediate(resolve));
  }
  for (const route of state.routes.values()) {
    for (const version of [...route.splits.map((s) => s.version), ...route.shadows.map((s) => s.version)]) {
      const record = state.versions.get(versionKey(route.model, version));
      if (record) wanted.add(record.artifact.sha256);
    }
  }
  return wanted;
}

/** The sha256 of the versions a routing table serves: never removed, whatever the target state says. */
export function loadedArtifacts(table: RoutingTable): Set<string> {
  return new Set([...table.versions.values()].map((v) => v.record.artifact.sha256));
}

/** The parts of {@link ArtifactCache} the trimmer uses. */
export interface TrimmableCache {
  /** Holds `sha256/<hex>` files and `sha256/<hex>.<random>.partial` downloads. */
  readonly dir: string;
  /** True while the artifact is being verified or downloaded: its files are not touched. */
  isPending(sha256: string): boolean;
  /** Deletes the cached file and forgets it was verified. */
  remove(sha256: string): Promise<void>;
}

/** The trimmer's Prometheus metrics; see {@link artifactCacheMetrics}. */
export interface ArtifactCacheMetrics {
  removedBytes: Counter;
  cacheBytes: Gauge;
}

/** Registers the cache's metrics on a node's registry. */
export function artifactCacheMetrics(registry: Registry): ArtifactCacheMetrics {
  return {
    removedBytes: new Counter({
      name: 'switchyard_node_artifact_cache_removed_bytes_total',
      help: 'Bytes of cached model artifacts removed because no version in the target state uses them any more.',
      registers: [registry],
    }),
    cacheBytes: new Gauge({
      name: 'switchyard_node_artifact_cache_bytes',
      help: "Bytes in the node's artifact cache after its last trim (downloads in progress included).",
      registers: [registry],
    }),
  };
}

/** Options for {@link ArtifactCacheTrimmer}. */
export interface ArtifactCacheTrimmerOptions {
  cache: TrimmableCache;
  /**
   * The sha256 of every artifact the node serves or may load
   * ({@link wantedArtifacts} of its target state). Undefined while the target
   * state has not been read yet, when nothing is removed.
   */
  wanted: () => ReadonlySet<string> | undefined | Promise<ReadonlySet<string> | undefined>;
  /** The sha256 of the versions loaded now; never removed, whatever the target state says. */
  loaded: () => ReadonlySet<string>;
  clock: Clock;
  logger: Logger;
  /**
   * How long a file must have been unwanted before it goes, so a version
   * removed and put back (or a brief bad target state) does not cost a
   * download. @default 600000 (10 min)
   */
  graceMs?: number;
  /** Time between two trims. @default 60000 */
  intervalMs?: number;
  metrics?: ArtifactCacheMetrics;
}

/**
 * Keeps the node's artifact cache to what its target state uses: a cached
 * artifact no version record refers to any more (a retired or deleted
 * version) is removed once it has been unwanted for `graceMs`, and so is a
 * `.partial` download left over from a crash. Without it, every artifact a
 * node ever loaded would stay on its disk.
 */
export class ArtifactCacheTrimmer implements NodeComponent {
  readonly name = 'artifact-cache-trimmer';
  /** When each unwanted file was first seen unwanted (this clock's ms). */
  private readonly unwantedSince = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  private readonly graceMs: number;
  /** Files removed by this trimmer, for tests and diagnostics. */
  removedFiles = 0;

  constructor(private readonly options: ArtifactCacheTrimmerOptions) {
    this.graceMs = options.graceMs ?? 600_000;
    if (!(this.graceMs >= 0)) throw new TypeError(`artifactCacheGraceMs must be 0 or more; got ${options.graceMs}`);
    if (options.intervalMs !== undefined && !(options.intervalMs > 0)) {
      throw new TypeError(`artifact cache trim interval must be more than 0 ms; got ${options.intervalMs}`);
    }
  }

  /** Trims every `intervalMs`; the timer does not keep the process alive. */
  start(): void {
    if (this.timer || this.stopped) return;
    this.timer = setInterval(() => void this.trim(), this.options.intervalMs ?? 60_000).unref();
  }

  /** Stops the timer and waits for a trim in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** One pass; passes never overlap, and a failing one is logged, not thrown. */
  trim(): Promise<void> {
    if (!this.running) {
      this.running = this.pass()
        .catch((err: unknown) => {
          this.options.logger.warn('could not trim the artifact cache; trying again later', { error: String(err) });
        })
        .finally(() => {
          this.running = undefined;
        });
    }
    return this.running;
  }

  private async pass(): Promise<void> {
    const { cache, clock, logger } = this.options;
    const wanted = await this.options.wanted();
    if (!wanted || this.stopped) return;
    const loaded = this.options.loaded();
    const dir = join(cache.dir, 'sha256');
    const names = await readdir(dir).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return [];
      throw err;
    });
    const now = clock.now();
    const seen = new Set<string>();
    let bytes = 0;
    for (const name of names) {
      const path = join(dir, name);
      const info = await stat(path).catch(() => undefined);
      if (!info?.isFile()) continue;
      if (name.endsWith('.partial')) {
        const sha256 = name.slice(0, name.indexOf('.'));
        if (!cache.isPending(sha256) && now - info.mtimeMs > STALE_PARTIAL_MS) {
          await rm(path, { force: true });
          logger.info('removed a download left over from an earlier run', { file: name, bytes: info.size });
          this.options.metrics?.removedBytes.inc(info.size);
          continue;
        }
        bytes += info.size;
        continue;
      }
      if (!SHA256_NAME.test(name)) continue;
      seen.add(name);
      if (wanted.has(name) || loaded.has(name) || cache.isPending(name)) {
        this.unwantedSince.delete(name);
        bytes += info.size;
        continue;
      }
      const since = this.unwantedSince.get(name) ?? now;
      this.unwantedSince.set(name, since);
      if (now - since < this.graceMs) {
        bytes += info.size;
        continue;
      }
      // Checked again right before: a load may have started while this pass awaited the disk.
      if (cache.isPending(name) || this.stopped) {
        bytes += info.size;
        continue;
      }
      await cache.remove(name);
      this.unwantedSince.delete(name);
      this.removedFiles++;
      this.options.metrics?.removedBytes.inc(info.size);
      logger.info('removed a cached artifact no version uses any more', { sha256: name, bytes: info.size });
    }
    for (const name of this.unwantedSince.keys()) if (!seen.has(name)) this.unwantedSince.delete(name);
    this.options.metrics?.cacheBytes.set(bytes);
  }
}
