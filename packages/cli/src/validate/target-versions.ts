import type { Etcd3 } from 'etcd3';
import {
  parseStored,
  RouteRecordSchema,
  VersionRecordSchema,
  type KeyLayout,
  type RouteRecord,
  type VersionRecord,
} from '@switchyard/core';

/** Why a version is checked: it takes traffic, it is a shadow, a rollout moves traffic to it, or `--all`. */
export type Reference = 'route' | 'shadow' | 'rollout' | 'all';

/** A version to validate, as the target state names it. */
export interface TargetVersion {
  model: string;
  version: string;
  referencedBy: Reference[];
  /** Undefined when the record is missing or unreadable; `problem` says which. */
  record?: VersionRecord;
  problem?: string;
}

/** A version left out, and why (for the report's notes). */
export interface SkippedVersion {
  model: string;
  version: string;
  why: string;
}

/** What {@link readTargetVersions} found. */
export interface TargetSelection {
  /** Sorted by model, then version. */
  versions: TargetVersion[];
  skipped: SkippedVersion[];
  /** The etcd revision the whole selection was read at. */
  revision: string;
}

/** Options for {@link readTargetVersions}. */
export interface TargetReadOptions {
  /** Every version that is not retired (and was not rejected at deploy), routed or not. */
  all: boolean;
  /** Only these models; empty for every model. */
  models: string[];
}

// A rollout in these states is about to send traffic to its `to` version.
const LIVE_ROLLOUT = new Set(['PENDING', 'PROGRESSING', 'PAUSED']);

/**
 * Retirement (issue #6) adds a `retirement` field to version records; read
 * from the raw JSON, so this works whether or not the schema has it yet.
 */
function isRetired(raw: string): boolean {
  try {
    const value = JSON.parse(raw) as { retirement?: { state?: unknown } | null };
    return value.retirement?.state === 'RETIRED';
  } catch {
    return false;
  }
}

/** The versions a route sends traffic to, mirrors traffic to, or is rolling out. */
export function routeReferences(route: RouteRecord): Map<string, Reference[]> {
  const refs = new Map<string, Reference[]>();
  const add = (version: string, why: Reference): void => {
    const list = refs.get(version) ?? [];
    if (!list.includes(why)) list.push(why);
    refs.set(version, list);
  };
  for (const split of route.splits) if (split.weight > 0) add(split.version, 'route');
  for (const shadow of route.shadows) add(shadow.version, 'shadow');
  if (route.rollout && LIVE_ROLLOUT.has(route.rollout.state)) add(route.rollout.to, 'rollout');
  return refs;
}

/**
 * Reads the target state in one range read (one etcd revision, so routes and
 * versions agree) and picks the versions to validate. Records that do not fit
 * their schema are reported as problems of the versions a route names, not
 * skipped: a release must not pass because a record could not be read.
 */
export async function readTargetVersions(etcd: Etcd3, keys: KeyLayout, options: TargetReadOptions): Promise<TargetSelection> {
  const response = await etcd.getAll().prefix(keys.targetPrefix()).exec();
  const revision = response.header.revision;
  const wanted = new Set(options.models);
  const records = new Map<string, { raw: string }>();
  const routes = new Map<string, RouteRecord | string>();
  for (const kv of response.kvs) {
    const parsed = keys.parse(kv.key.toString());
    if (!parsed) continue;
    if (parsed.kind === 'versions') records.set(`${parsed.model}/${parsed.version}`, { raw: kv.value.toString() });
    else if (parsed.kind === 'routes') {
      const route = parseStored(RouteRecordSchema, kv.value.toString());
      routes.set(parsed.model, route.ok ? route.value : route.error);
    }
  }

  const selected = new Map<string, TargetVersion>();
  const skipped: SkippedVersion[] = [];
  const pick = (model: string, version: string, why: Reference): void => {
    if (wanted.size > 0 && !wanted.has(model)) return;
    const key = `${model}/${version}`;
    const existing = selected.get(key);
    if (existing) {
      if (!existing.referencedBy.includes(why)) existing.referencedBy.push(why);
      return;
    }
    selected.set(key, { model, version, referencedBy: [why] });
  };

  for (const [model, route] of routes) {
    if (typeof route === 'string') {
      if (wanted.size === 0 || wanted.has(model)) skipped.push({ model, version: '*', why: `its route record is invalid (${route}); fix it with switchyard route set` });
      continue;
    }
    for (const [version, whys] of routeReferences(route)) for (const why of whys) pick(model, version, why);
  }
  if (options.all) {
    for (const key of records.keys()) {
      const [model, version] = key.split('/') as [string, string];
      if (!selected.has(key)) pick(model, version, 'all');
    }
  }

  const versions: TargetVersion[] = [];
  for (const [key, target] of selected) {
    const stored = records.get(key);
    if (!stored) {
      versions.push({ ...target, problem: `a route names ${target.model}:${target.version}, but it has no version record in etcd` });
      continue;
    }
    const routed = target.referencedBy.some((r) => r !== 'all');
    if (isRetired(stored.raw)) {
      skipped.push({ model: target.model, version: target.version, why: routed ? 'retired (although a route still names it)' : 'retired' });
      continue;
    }
    const parsed = parseStored(VersionRecordSchema, stored.raw);
    if (!parsed.ok) {
      versions.push({ ...target, problem: `its version record in etcd is invalid: ${parsed.error}` });
      continue;
    }
    // A REJECTED version can never take traffic; with --all it is noise, not a check.
    if (!routed && parsed.value.validation?.state === 'REJECTED') {
      skipped.push({ model: target.model, version: target.version, why: 'REJECTED at deploy; it can never be routed' });
      continue;
    }
    versions.push({ ...target, record: parsed.value });
  }
  versions.sort((a, b) => (a.model === b.model ? compareNames(a.version, b.version) : a.model < b.model ? -1 : 1));
  return { versions, skipped, revision };
}

/** v2 before v10. */
function compareNames(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true });
}
