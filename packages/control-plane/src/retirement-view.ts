import type { Etcd3, IKeyValue } from 'etcd3';
import {
  ModelRecordSchema,
  RouteRecordSchema,
  UsageRecordSchema,
  VersionRecordSchema,
  parseStored,
  type KeyLayout,
  type Logger,
  type ModelRecord,
  type RouteRecord,
  type VersionRecord,
} from '@switchyard/core';
import { etcdCall } from './etcd-errors.js';
import type { VersionUsage } from './retirement-policy.js';
import type { Stored } from './target-state-store.js';

/** A model's route as read, with the revision a retirement must compare. */
export interface RouteState {
  /** '0' when the route key is absent. */
  modRevision: string;
  /** Undefined when absent or invalid (a retirement then leaves the model alone). */
  route: RouteRecord | undefined;
  invalid: boolean;
}

/**
 * Everything retirement decides from, read in four prefix reads: models,
 * versions, routes and usage records. Each later write compares the revisions
 * of what it was decided from, so reading at different revisions is safe.
 */
export interface RetirementView {
  models: Map<string, Stored<ModelRecord>>;
  /** Every valid version of every model. */
  versions: Stored<VersionRecord>[];
  routes: Map<string, RouteState>;
  /** By `model/version`: last use folded over every node's record. */
  usage: Map<string, VersionUsage>;
  /** Revision of the usage read: a usage key written after it aborts a retirement decided from it. */
  usageRevision: string;
}

export const usageId = (model: string, version: string): string => `${model}/${version}`;

/**
 * Reads the whole view, or one model's with `model`; every model's versions
 * are still read unless `allVersions` is false, because artifact sharing
 * crosses models.
 */
export async function readRetirementView(etcd: Etcd3, keys: KeyLayout, logger: Logger, model?: string, allVersions = true): Promise<RetirementView> {
  const [models, versions, routes, usage] = await Promise.all([
    etcdCall(() => (model === undefined ? etcd.getAll().prefix(keys.modelsPrefix()).exec() : etcd.get(keys.model(model)).exec())),
    etcdCall(() => etcd.getAll().prefix(keys.versionsPrefix(allVersions ? undefined : model)).exec()),
    etcdCall(() => (model === undefined ? etcd.getAll().prefix(keys.routesPrefix()).exec() : etcd.get(keys.route(model)).exec())),
    etcdCall(() => etcd.getAll().prefix(keys.usagePrefix(model)).exec()),
  ]);
  const view: RetirementView = { models: new Map(), versions: [], routes: new Map(), usage: new Map(), usageRevision: usage.header.revision };
  const warn = (kv: IKeyValue, error: string) =>
    logger.warn('retirement ignores an invalid record in etcd; fix or delete it with etcdctl', { key: kv.key.toString(), error });

  for (const kv of models.kvs) {
    const parsed = parseStored(ModelRecordSchema, kv.value.toString());
    if (!parsed.ok) warn(kv, parsed.error);
    else if (kv.key.toString() === keys.model(parsed.value.name)) view.models.set(parsed.value.name, stored(kv, parsed.value));
  }
  for (const kv of versions.kvs) {
    const parsed = parseStored(VersionRecordSchema, kv.value.toString());
    if (!parsed.ok) warn(kv, parsed.error);
    else if (kv.key.toString() === keys.version(parsed.value.model, parsed.value.version)) view.versions.push(stored(kv, parsed.value));
  }
  for (const kv of routes.kvs) {
    const key = kv.key.toString();
    const name = key.slice(keys.routesPrefix().length);
    const parsed = parseStored(RouteRecordSchema, kv.value.toString());
    if (!parsed.ok) warn(kv, parsed.error);
    view.routes.set(name, { modRevision: kv.mod_revision, route: parsed.ok ? parsed.value : undefined, invalid: !parsed.ok });
  }
  for (const kv of usage.kvs) {
    const parsed = parseStored(UsageRecordSchema, kv.value.toString());
    if (!parsed.ok) {
      warn(kv, parsed.error);
      continue;
    }
    foldUsage(view.usage, parsed.value);
  }
  return view;
}

/** Adds one node's record to the per-version fold: the latest primary and shadow use over all nodes. */
export function foldUsage(into: Map<string, VersionUsage>, record: { model: string; version: string; lastPrimaryAt: string | null; lastShadowAt: string | null }): void {
  const id = usageId(record.model, record.version);
  const current = into.get(id) ?? { lastPrimaryMs: undefined, lastShadowMs: undefined };
  const later = (a: number | undefined, at: string | null): number | undefined => {
    const b = at === null ? NaN : Date.parse(at);
    if (!Number.isFinite(b)) return a;
    return a === undefined ? b : Math.max(a, b);
  };
  into.set(id, { lastPrimaryMs: later(current.lastPrimaryMs, record.lastPrimaryAt), lastShadowMs: later(current.lastShadowMs, record.lastShadowAt) });
}

function stored<T>(kv: IKeyValue, value: T): Stored<T> {
  return { key: kv.key.toString(), value, modRevision: kv.mod_revision, createRevision: kv.create_revision };
}
