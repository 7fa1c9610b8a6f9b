import { readFile } from 'node:fs/promises';
import type { Etcd3 } from 'etcd3';
import {
  parseSamplesDocument,
  type ClientTlsOptions,
  type KeyLayout,
  type Logger,
  type SamplesDocument,
  type VersionRecord,
} from '@switchyard/core';
import { ArtifactCache, ControlPlaneArtifactSource } from '@switchyard/prediction-node';

/** Options for {@link ArtifactFiles}. */
export interface ArtifactFilesOptions {
  etcd: Etcd3;
  keys: KeyLayout;
  /** Where downloaded files go (a temporary directory the caller removes). */
  dir: string;
  /** Fixed control-plane addresses; empty to discover them in etcd, as nodes do. */
  controlPlanes: string[];
  token?: string;
  tls?: ClientTlsOptions;
  logger: Logger;
}

/**
 * The artifacts and samples documents of versions, downloaded from the
 * control planes' ArtifactService exactly as a prediction node does it (the
 * node's own source and cache, so discovery, failover and the sha256 check are
 * the ones production runs) and kept in a local directory.
 */
export class ArtifactFiles {
  readonly #source: ControlPlaneArtifactSource;
  readonly #cache: ArtifactCache;

  constructor(options: ArtifactFilesOptions) {
    this.#source = new ControlPlaneArtifactSource({
      etcd: options.etcd,
      keys: options.keys,
      logger: options.logger,
      addresses: options.controlPlanes,
      ...(options.token !== undefined ? { token: options.token } : {}),
      ...(options.tls !== undefined ? { tls: options.tls } : {}),
    });
    this.#cache = new ArtifactCache({ dir: options.dir, source: this.#source, logger: options.logger });
  }

  /**
   * The local path of the version's model, its sha256 verified.
   * @throws NOT_FOUND when no control plane has it; FAILED_PRECONDITION on a sha256 mismatch.
   */
  artifact(record: VersionRecord): Promise<string> {
    return this.#cache.ensure(record.artifact.sha256, record.artifact.size);
  }

  /**
   * The version's samples document, golden outputs included, sha256 verified;
   * null for a version deployed without samples.
   */
  async samples(record: VersionRecord): Promise<SamplesDocument | null> {
    if (!record.samples) return null;
    // Content-addressed in the same store as artifacts, so the same cache applies.
    const path = await this.#cache.ensure(record.samples.sha256, record.samples.size);
    return parseSamplesDocument(await readFile(path));
  }

  close(): void {
    this.#source.close();
  }
}
