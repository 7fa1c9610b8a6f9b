import type { UntypedServiceImplementation } from '@grpc/grpc-js';
import {
  ANONYMOUS,
  failedPrecondition,
  getCaller,
  invalidArgument,
  notFound,
  type AddShadowRequest,
  type CallerIdentity,
  type Clock,
  type KeyLayout,
  type Logger,
  type ModelRef,
  type RemoveShadowRequest,
  type RouteRecord,
  type ShadowEntry,
  type ShadowListMessage,
  type ShadowReportMessage,
  type VersionRecord,
} from '@switchyard/core';
import type { EtcdClient } from './etcd-client.js';
import { unaryHandler } from './grpc-handlers.js';
import { checkExpectedRevision } from './route-splits.js';
import { pairToMessage, shadowToMessage, sumShadowStats } from './shadow-figures.js';
import { writeShadows } from './shadow-route-write.js';
import type { Stored, TargetStateStore } from './target-state-store.js';
import { checkName } from './version-names.js';

/** Shadows per route: each one costs every node a model run per mirrored request. */
export const MAX_SHADOWS = 4;
export const DEFAULT_SHADOW_TOLERANCE = 1e-5;

/** Options for {@link ShadowAdmin}. */
export interface ShadowAdminOptions {
  /** Routes, versions and figures are read and written through its tables. */
  state: TargetStateStore;
  /** Not read: `state` holds the client and key layout. Accepted for callers that still pass them. */
  etcd?: EtcdClient;
  /** Not read, as `etcd`. */
  keys?: KeyLayout;
  logger: Logger;
  clock: Clock;
}

/**
 * The shadow RPCs of the admin API (AddShadow, RemoveShadow, ListShadows,
 * GetShadowReport). Shadows live in the route record, so every change is a
 * compare-and-swap of the route with its audit entry; figures are the
 * nodes' ShadowStatsRecords, summed at read time.
 */
export class ShadowAdmin {
  readonly #o: ShadowAdminOptions;

  constructor(options: ShadowAdminOptions) {
    this.#o = options;
  }

  handlers(): UntypedServiceImplementation {
    const log = this.#o.logger;
    return {
      AddShadow: unaryHandler(log, 'AddShadow', (r: AddShadowRequest, call) => this.addShadow(r, getCaller(call))),
      RemoveShadow: unaryHandler(log, 'RemoveShadow', (r: RemoveShadowRequest, call) => this.removeShadow(r, getCaller(call))),
      ListShadows: unaryHandler(log, 'ListShadows', (r: ModelRef) => this.listShadows(r)),
      GetShadowReport: unaryHandler(log, 'GetShadowReport', (r: ModelRef) => this.getShadowReport(r)),
    };
  }

  /**
   * Adds a shadow, or changes the settings of one (its figures carry on).
   * A version that was not a shadow starts from zero: figures left from an
   * earlier time as a shadow are deleted first.
   */
  async addShadow(request: AddShadowRequest, caller: CallerIdentity = ANONYMOUS): Promise<ShadowListMessage> {
    const model = checkName('model', request.model);
    const version = checkName('version', request.version);
    const fraction = Number(request.fraction);
    if (!(fraction > 0 && fraction <= 1)) throw invalidArgument(`fraction ${request.fraction} is not in (0, 1]; give the share of requests to mirror, e.g. 0.1`);
    const nowMs = this.#o.clock.now();
    const until = this.#until(request, nowMs);
    const budget = Number(request.budget ?? 0);
    if (!Number.isSafeInteger(budget) || budget < 0) throw invalidArgument(`budget ${request.budget} is not a whole number of requests >= 0 (0: none)`);
    const tolerance = request.tolerance === undefined || request.tolerance === null ? DEFAULT_SHADOW_TOLERANCE : Number(request.tolerance);
    if (!(tolerance >= 0 && Number.isFinite(tolerance))) throw invalidArgument(`tolerance ${request.tolerance} must be a finite number >= 0`);
    const expectedRevision = checkExpectedRevision(request.expected_revision ?? 0, 'ListShadows');

    await this.#shadowable(model, version);
    const before = await this.#o.state.readRoute(model);
    const wasShadow = before.current?.shadows.some((s) => s.version === version) ?? false;
    // A new shadow starts from zero: figures from an earlier time as a shadow would otherwise be summed in (and count against its budget).
    if (!wasShadow) await this.#o.state.tables.figures.deleteShadow(model, version);

    const now = new Date(nowMs).toISOString();
    const { route, revision } = await writeShadows({
      state: this.#o.state,
      model,
      actor: caller.name,
      action: 'AddShadow',
      version,
      now: () => now,
      expectedRevision,
      change: async (current) => {
        checkPrimaries(current, version);
        // Read again on every attempt: the write applies only if the version is still as checked (not retired since).
        const stored = await this.#shadowable(model, version);
        const existing = current.shadows.find((s) => s.version === version);
        if (!existing && current.shadows.length >= MAX_SHADOWS) {
          throw failedPrecondition(`model ${model} has ${current.shadows.length} shadows already, the most a route can have; remove one first`);
        }
        const entry: ShadowEntry = {
          version,
          fraction,
          until,
          budget: budget > 0 ? budget : null,
          tolerance,
          addedAt: existing?.addedAt ?? now,
          addedBy: existing?.addedBy ?? caller.name,
          auto: request.auto ?? false,
        };
        const shadows = existing ? current.shadows.map((s) => (s.version === version ? entry : s)) : [...current.shadows, entry];
        return { shadows, referenced: new Map([[version, stored.modRevision]]) };
      },
    });
    this.#o.logger.info('shadow added', { model, version, fraction, until, budget, tolerance, auto: request.auto ?? false, actor: caller.name, revision });
    return { model, shadows: route.shadows.map(shadowToMessage), revision };
  }

  /** Stops mirroring to a version. Its figures stay, so the report shows how it did. */
  async removeShadow(request: RemoveShadowRequest, caller: CallerIdentity = ANONYMOUS): Promise<ShadowListMessage> {
    const model = checkName('model', request.model);
    const version = checkName('version', request.version);
    const expectedRevision = checkExpectedRevision(request.expected_revision ?? 0, 'ListShadows');
    const { route, revision } = await writeShadows({
      state: this.#o.state,
      model,
      actor: caller.name,
      action: 'RemoveShadow',
      version,
      now: () => new Date(this.#o.clock.now()).toISOString(),
      expectedRevision,
      change: (current) => {
        if (!current.shadows.some((s) => s.version === version)) {
          const list = current.shadows.map((s) => s.version).join(', ') || 'none';
          throw notFound(`version ${version} is not a shadow of model ${model} (shadows: ${list})`);
        }
        return { shadows: current.shadows.filter((s) => s.version !== version) };
      },
    });
    this.#o.logger.info('shadow removed', { model, version, actor: caller.name, revision });
    return { model, shadows: route.shadows.map(shadowToMessage), revision };
  }

  async listShadows(request: ModelRef): Promise<ShadowListMessage> {
    const model = checkName('model', request.model);
    const read = await this.#o.state.readRoute(model);
    if (read.invalid !== undefined) throw failedPrecondition(`the route of model ${model} stored in etcd is invalid (${read.invalid}); replace it with SetRoute first`);
    if (!read.current) throw notFound(`model ${model} has no route, so no shadows; deploy a version first`);
    return { model, shadows: read.current.shadows.map(shadowToMessage), revision: read.revision };
  }

  /** Every node's figures, summed per (primary, shadow); pairs of removed shadows too, marked inactive. */
  async getShadowReport(request: ModelRef): Promise<ShadowReportMessage> {
    const model = checkName('model', request.model);
    const [read, records] = await Promise.all([
      this.#o.state.readRoute(model),
      this.#o.state.tables.figures.shadow(model),
    ]);
    if (!read.current && records.length === 0) throw notFound(`model ${model} has no route and no shadow figures; check the name with 'switchyard models'`);
    const shadows = read.current?.shadows ?? [];
    const active = new Set(shadows.map((s) => s.version));
    return {
      model,
      pairs: sumShadowStats(records).map((p) => pairToMessage(p, active.has(p.shadow))),
      shadows: shadows.map(shadowToMessage),
    };
  }

  /** The version, if it can be a shadow: it exists, passed validation and is not retired. */
  async #shadowable(model: string, version: string): Promise<Stored<VersionRecord>> {
    const stored = await this.#o.state.getVersion(model, version);
    if (!stored) throw notFound(`model ${model} has no version ${version}; list them with 'switchyard versions ${model}'`);
    const validation = stored.value.validation;
    if (validation !== undefined && validation.state !== 'PASSED') {
      throw failedPrecondition(`version ${version} of model ${model} failed deploy-time validation (${validation.reason}), so it cannot be a shadow; deploy a fixed version`);
    }
    if (stored.value.retirement?.state === 'RETIRED') {
      throw failedPrecondition(`version ${version} of model ${model} is retired; unretire it with 'switchyard unretire ${model}:${version}' before shadowing it`);
    }
    return stored;
  }

  #until(request: AddShadowRequest, nowMs: number): string | null {
    const seconds = Number(request.duration_seconds ?? 0);
    if (!Number.isSafeInteger(seconds) || seconds < 0) throw invalidArgument(`duration_seconds ${request.duration_seconds} is not a whole number of seconds >= 0`);
    if (request.until && seconds > 0) throw invalidArgument('give at most one of until and duration_seconds');
    if (seconds > 0) return new Date(nowMs + seconds * 1000).toISOString();
    if (!request.until) return null;
    const at = Date.parse(request.until);
    if (Number.isNaN(at)) throw invalidArgument(`until '${request.until}' is not a time; write RFC 3339, e.g. 2026-01-31T18:00:00Z`);
    if (at <= nowMs) throw invalidArgument(`until ${request.until} is in the past; give a later time or a duration`);
    return new Date(at).toISOString();
  }
}

/** A shadow needs a primary other than itself to mirror. */
function checkPrimaries(route: RouteRecord, version: string): void {
  const weighted = route.splits.filter((s) => s.weight > 0);
  if (weighted.length === 0) {
    throw failedPrecondition(`model ${route.model} serves nothing (its route has no weighted version), so there is no traffic to mirror; route a primary first`);
  }
  if (weighted.length === 1 && weighted[0]!.version === version) {
    throw failedPrecondition(`version ${version} is the only primary of model ${route.model}; a version cannot shadow itself`);
  }
}
