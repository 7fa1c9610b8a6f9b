import type { Logger, VersionRecord } from '@switchyard/core';
import type { ArtifactStore, StoredEntry } from './artifact-store.js';
import type { RetirementCounters } from './retirement-metrics.js';
import type { RetirementView } from './retirement-view.js';

/** The store entries a version needs: its model bytes and its samples document. */
export function storedShas(v: VersionRecord): string[] {
  return v.samples ? [v.artifact.sha256, v.samples.sha256] : [v.artifact.sha256];
}

/** A version (other than `v`) that is not retired and shares one of `v`'s store entries, as model:version; undefined when none. */
export function sharedWith(view: RetirementView, v: VersionRecord): string | undefined {
  const mine = new Set(storedShas(v));
  for (const other of view.versions) {
    const o = other.value;
    if (o.model === v.model && o.version === v.version) continue;
    if (o.retirement?.state === 'RETIRED') continue;
    if (storedShas(o).some((sha) => mine.has(sha))) return `${o.model}:${o.version}`;
  }
  return undefined;
}

/**
 * Store entries to delete: those of versions marked collected, minus those
 * any other version still needs (not retired, or retired and still within
 * its retention). Entries no version names (an upload whose CreateVersion is
 * still running) are never candidates.
 */
export function collectableShas(view: RetirementView): Set<string> {
  const keep = new Set<string>();
  const collected = new Set<string>();
  for (const { value: v } of view.versions) {
    const done = v.retirement?.state === 'RETIRED' && v.retirement.artifactDeletedAt !== null;
    for (const sha of storedShas(v)) (done ? collected : keep).add(sha);
  }
  for (const sha of keep) collected.delete(sha);
  return collected;
}

/**
 * Deletes from this replica's store what {@link collectableShas} names.
 * Every replica runs it (each has its own store); the decision itself was
 * made once, by the leader, and recorded on the versions in etcd.
 */
export async function collectLocalArtifacts(view: RetirementView, artifacts: ArtifactStore, logger: Logger, counters: RetirementCounters): Promise<string[]> {
  const deleted: string[] = [];
  for (const sha of collectableShas(view)) {
    if (!(await artifacts.has(sha))) continue;
    if (await artifacts.delete(sha)) {
      deleted.push(sha);
      counters.collected.inc();
      logger.info('artifact collected: every version using it is retired and past its retention', { sha256: sha });
    }
  }
  return deleted;
}

const SHA256_IN_TEXT = /[0-9a-f]{64}/g;

/**
 * Every sha256 that stored version values mention, read from the raw values
 * so that a record failing its schema (which readers skip) still keeps what it
 * names: over-keeping is harmless, deleting a version's artifact is not.
 */
export function mentionedShas(rawValues: Iterable<string>): Set<string> {
  const shas = new Set<string>();
  for (const value of rawValues) for (const [sha] of value.matchAll(SHA256_IN_TEXT)) shas.add(sha);
  return shas;
}

/**
 * Store entries no version names and stored (uploaded, or uploaded again)
 * at least `graceMs` ago: an upload whose CreateVersion is still running, or
 * about to run, is younger than the grace and stays.
 */
export function orphanedEntries(entries: readonly StoredEntry[], referenced: ReadonlySet<string>, nowMs: number, graceMs: number): StoredEntry[] {
  return entries.filter((e) => !referenced.has(e.sha256) && nowMs - e.storedAtMs >= graceMs);
}
