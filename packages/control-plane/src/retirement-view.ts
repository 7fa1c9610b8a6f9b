import type { KeyLayout, Logger, ModelRecord, RouteRecord, VersionRecord } from '@switchyard/core';
import type { EtcdClient } from './etcd-client.js';
import type { Stored } from './etcd-read.js';
import { EtcdTables } from './etcd-tables.js';
import type { VersionUsage } from './retirement-policy.js';

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
 * crosses models. Invalid records are logged and left out (an invalid route
 * is kept, marked, so its model is left alone).
 */
export async function retirementView(tables: EtcdTables, model?: string, allVersions = true): Promise<RetirementView> {
  const [models, versions, routes, usage] = await Promise.all([
    tables.models.list(model),
    tables.versions.list(allVersions ? undefined : model),
    tables.routes.readAll(model),
    tables.figures.usage(model),
  ]);
  const view: RetirementView = {
    models: new Map(models.map((m) => [m.value.name, m])),
    versions,
    routes: new Map([...routes].map(([name, read]) => [name, { modRevision: read.revision, route: read.current, invalid: read.invalid !== undefined }])),
    usage: new Map(),
    usageRevision: usage.revision,
  };
  for (const record of usage.records) foldUsage(view.usage, record);
  return view;
}

/** {@link retirementView} for callers holding a client rather than the tables. */
export function readRetirementView(etcd: EtcdClient, keys: KeyLayout, logger: Logger, model?: string, allVersions = true): Promise<RetirementView> {
  return retirementView(new EtcdTables({ etcd, keys, logger }), model, allVersions);
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
