import type { UntypedServiceImplementation } from '@grpc/grpc-js';
import {
  ANONYMOUS,
  aborted,
  failedPrecondition,
  getCaller,
  notFound,
  type CallerIdentity,
  type CreateVersionRequest,
  type Clock,
  type ListRetirementsResponse,
  type ListVersionsResponse,
  type Logger,
  type ModelRef,
  type PinVersionRequest,
  type RetireRequest,
  type RetireResponse,
  type RetirementEntryMessage,
  type RetirementPlanResponse,
  type RetirementScopeRequest,
  type UnretireRequest,
  type VersionMessage,
  type VersionRecord,
  type VersionRef,
} from '@switchyard/core';
import { versionToMessage } from './admin-messages.js';
import type { VersionMessageHook } from './admin-service.js';
import type { ArtifactStore } from './artifact-store.js';
import type { Stored } from './etcd-read.js';
import type { EtcdTables } from './etcd-tables.js';
import { unaryHandler } from './grpc-handlers.js';
import { decodePageToken, encodePageToken, fillPage, resolvePageSize, type PageLimits } from './page-tokens.js';
import type { RetirementActions } from './retirement-actions.js';
import { sharedWith } from './retirement-artifacts.js';
import type { ResolvedRetirementOptions } from './retirement-options.js';
import { assessVersion, heldBy, type Assessment } from './retirement-policy.js';
import { retirementView, usageId, type RetirementView } from './retirement-view.js';
import { checkName, compareVersionNames } from './version-names.js';

/** RetirementPlan and ListRetirements: 1,000 entries a page unless asked otherwise, never more. */
export const RETIREMENT_PAGE_LIMITS: PageLimits = { default: 1000, max: 1000 };

/** A page position: model/version. */
const ENTRY_POSITION = /^[a-z0-9][a-z0-9._-]*\/[a-z0-9][a-z0-9._-]*$/;

/** A whole-model Retire is one transaction; etcd allows 128 operations in one. */
const MAX_MODEL_RETIRE_VERSIONS = 60;

/** Options for {@link RetirementAdmin}. */
export interface RetirementAdminOptions {
  /** What the view is read through; steps write through `actions`. */
  tables: EtcdTables;
  artifacts: ArtifactStore;
  clock: Clock;
  logger: Logger;
  options: ResolvedRetirementOptions;
  actions: RetirementActions;
}

const iso = (ms: number | undefined): string => (ms === undefined ? '' : new Date(ms).toISOString());

/**
 * The retirement RPCs (RetirementPlan, ListRetirements, Retire, Unretire,
 * PinVersion), and the admin API's version hook: every version message it
 * answers with gets last use and expiry from the usage records.
 */
export class RetirementAdmin implements VersionMessageHook {
  constructor(private readonly o: RetirementAdminOptions) {}

  handlers(): UntypedServiceImplementation {
    const log = this.o.logger;
    return {
      RetirementPlan: unaryHandler(log, 'RetirementPlan', (r: RetirementScopeRequest) => this.plan(r)),
      ListRetirements: unaryHandler(log, 'ListRetirements', (r: RetirementScopeRequest) => this.listRetirements(r)),
      Retire: unaryHandler(log, 'Retire', (r: RetireRequest, call) => this.retire(r, getCaller(call))),
      Unretire: unaryHandler(log, 'Unretire', (r: UnretireRequest, call) => this.unretire(r, getCaller(call))),
      PinVersion: unaryHandler(log, 'PinVersion', (r: PinVersionRequest, call) => this.pin(r, getCaller(call))),
    };
  }

  /** The dry run: what a sweep would do now and why (versions with nothing to do are left out). */
  async plan(request: RetirementScopeRequest): Promise<RetirementPlanResponse> {
    const model = request.model ? checkName('model', request.model) : undefined;
    const size = resolvePageSize(request.page_size ?? 0, RETIREMENT_PAGE_LIMITS);
    const after = decodePageToken('RetirementPlan', request.page_token ?? '', (p) => ENTRY_POSITION.test(p));
    const view = await this.#view(model);
    const now = this.o.clock.now();
    const entries: RetirementEntryMessage[] = [];
    for (const v of versionsAfter(this.#versionsOf(view, model), after)) {
      const a = this.#assess(view, v.value, now);
      if (a.action === 'COLLECT') {
        const sharer = sharedWith(view, v.value);
        if (sharer !== undefined) {
          entries.push(this.#entry(view, v.value, { ...a, action: 'KEEP', reason: `retired; artifact kept: ${sharer} shares it` }));
          continue;
        }
      }
      if (a.action !== 'KEEP') entries.push(this.#entry(view, v.value, a));
      // One entry past a page tells whether another follows.
      if (entries.length > size) break;
    }
    return { now: new Date(now).toISOString(), ...page(entries, size) };
  }

  /** Versions WARNED or RETIRED, with their dates. */
  async listRetirements(request: RetirementScopeRequest): Promise<ListRetirementsResponse> {
    const model = request.model ? checkName('model', request.model) : undefined;
    const after = decodePageToken('ListRetirements', request.page_token ?? '', (p) => ENTRY_POSITION.test(p));
    const view = await this.#view(model);
    const now = this.o.clock.now();
    const size = resolvePageSize(request.page_size ?? 0, RETIREMENT_PAGE_LIMITS);
    const entries = versionsAfter(this.#versionsOf(view, model), after)
      .filter((v) => v.value.retirement !== undefined && v.value.retirement.state !== 'ACTIVE')
      .slice(0, size + 1)
      .map((v) => ({ ...this.#entry(view, v.value, this.#assess(view, v.value, now)), action: '' }));
    return page(entries, size);
  }

  /** Retires one version, or every version and the model itself, now. */
  async retire(request: RetireRequest, caller: CallerIdentity = ANONYMOUS): Promise<RetireResponse> {
    const model = checkName('model', request.model);
    const view = await this.#view(model);
    const versions = this.#versionsOf(view, model);
    if (request.version) {
      const version = checkName('version', request.version);
      const v = versions.find((s) => s.value.version === version);
      if (!v) throw noSuchVersion(model, version);
      if (v.value.retirement?.state === 'RETIRED') throw failedPrecondition(`${model}:${version} is already retired (at ${v.value.retirement.retiredAt}); unretire it with Unretire`);
      const hold = heldBy(view.routes.get(model)?.route, version);
      if (hold !== undefined) throw failedPrecondition(`${model}:${version} cannot be retired while ${hold}; end the rollout first`);
      if (view.routes.get(model)?.invalid) throw failedPrecondition(`the route of model ${model} stored in etcd is invalid; replace it with SetRoute first`);
      const { outcome, modelRetired } = await this.o.actions.retire(view, v, { actor: caller.name, reason: `retired by ${caller.name}`, guardUsage: false });
      if (outcome !== 'applied') throw changedMeanwhile(model);
      return { retired: [await this.#entryAfter(model, version)], model_retired: modelRetired };
    }
    const live = versions.filter((v) => v.value.retirement?.state !== 'RETIRED');
    if (!view.models.has(model) && versions.length === 0) throw notFound(`model ${model} does not exist; check the name with ListModels`);
    if (view.models.get(model)?.value.retiredAt !== undefined && live.length === 0) {
      throw failedPrecondition(`model ${model} is already retired (at ${view.models.get(model)!.value.retiredAt})`);
    }
    if (live.length > MAX_MODEL_RETIRE_VERSIONS) {
      throw failedPrecondition(`model ${model} has ${live.length} versions that are not retired; a whole-model retire takes at most ${MAX_MODEL_RETIRE_VERSIONS}: retire versions one by one first`);
    }
    const route = view.routes.get(model)?.route;
    for (const v of live) {
      const hold = heldBy(route, v.value.version);
      if (hold !== undefined) throw failedPrecondition(`model ${model} cannot be retired while ${hold}; end the rollout first`);
    }
    if (view.routes.get(model)?.invalid) throw failedPrecondition(`the route of model ${model} stored in etcd is invalid; replace it with SetRoute first`);
    if ((await this.o.actions.retireModel(view, model, live, caller.name)) !== 'applied') throw changedMeanwhile(model);
    const after = await this.#view(model);
    const now = this.o.clock.now();
    const retired = live.map((v) => {
      const fresh = after.versions.find((s) => s.value.model === model && s.value.version === v.value.version)?.value ?? v.value;
      return { ...this.#entry(after, fresh, this.#assess(after, fresh, now)), action: '' };
    });
    return { retired, model_retired: true };
  }

  /** RETIRED → ACTIVE while the artifact is kept. Adds no weight: route it again with SetRoute. */
  async unretire(request: UnretireRequest, caller: CallerIdentity = ANONYMOUS): Promise<VersionMessage> {
    const model = checkName('model', request.model);
    const version = checkName('version', request.version);
    const view = await this.#view(model);
    const v = this.#versionsOf(view, model).find((s) => s.value.version === version);
    if (!v) throw noSuchVersion(model, version);
    const r = v.value.retirement;
    if (r?.state !== 'RETIRED') throw failedPrecondition(`${model}:${version} is not retired (it is ${r?.state ?? 'ACTIVE'}); nothing to undo`);
    const collected = r.artifactDeletedAt !== null || !(await this.o.artifacts.has(v.value.artifact.sha256));
    if (collected) {
      throw failedPrecondition(
        `the artifact of ${model}:${version} was collected${r.artifactDeletedAt ? ` at ${r.artifactDeletedAt}` : ''}, so it cannot be unretired; deploy the model file again as a new version`,
      );
    }
    const { outcome, record } = await this.o.actions.unretire(view, v, caller.name);
    if (outcome !== 'applied') throw changedMeanwhile(model);
    this.o.logger.info('version unretired', { model, version, actor: caller.name });
    return this.#decorate(versionToMessage(record), view, record);
  }

  /** Pins or unpins a version. */
  async pin(request: PinVersionRequest, caller: CallerIdentity = ANONYMOUS): Promise<VersionMessage> {
    const model = checkName('model', request.model);
    const version = checkName('version', request.version);
    const view = await this.#view(model);
    const v = this.#versionsOf(view, model).find((s) => s.value.version === version);
    if (!v) throw noSuchVersion(model, version);
    if (request.pinned && v.value.retirement?.state === 'RETIRED') throw failedPrecondition(`${model}:${version} is retired; unretire it before pinning it`);
    const { outcome, record } = await this.o.actions.pin(v, request.pinned, caller.name);
    if (outcome !== 'applied') throw changedMeanwhile(model);
    this.o.logger.info(request.pinned ? 'version pinned' : 'version unpinned', { model, version, actor: caller.name });
    return this.#decorate(versionToMessage(record), view, record);
  }

  /** Last use and expiry, filled into version messages of one model. */
  async decorate(model: string, messages: VersionMessage[]): Promise<VersionMessage[]> {
    if (messages.length === 0) return messages;
    const view = await this.#view(model, false);
    const records = new Map(this.#versionsOf(view, model).map((v) => [v.value.version, v.value]));
    return messages.map((m) => this.#decorate(m, view, records.get(m.version)));
  }

  #decorate(message: VersionMessage, view: RetirementView, record: VersionRecord | undefined): VersionMessage {
    if (!record) return message;
    const a = this.#assess(view, record, this.o.clock.now());
    return { ...message, last_used_at: iso(a.lastUseMs), expires_at: iso(a.expiresAtMs) };
  }

  #view(model?: string, allVersions = true): Promise<RetirementView> {
    return retirementView(this.o.tables, model, allVersions);
  }

  #versionsOf(view: RetirementView, model: string | undefined): Stored<VersionRecord>[] {
    return view.versions
      .filter((v) => model === undefined || v.value.model === model)
      .sort((a, b) => (a.value.model === b.value.model ? compareVersionNames(a.value.version, b.value.version) : a.value.model < b.value.model ? -1 : 1));
  }

  #assess(view: RetirementView, v: VersionRecord, nowMs: number): Assessment {
    return assessVersion({
      version: v,
      model: view.models.get(v.model)?.value,
      usage: view.usage.get(usageId(v.model, v.version)),
      route: view.routes.get(v.model)?.route,
      nowMs,
      options: this.o.options,
    });
  }

  async #entryAfter(model: string, version: string): Promise<RetirementEntryMessage> {
    const view = await this.#view(model);
    const v = view.versions.find((s) => s.value.model === model && s.value.version === version);
    if (!v) throw noSuchVersion(model, version);
    return { ...this.#entry(view, v.value, this.#assess(view, v.value, this.o.clock.now())), action: '' };
  }

  #entry(view: RetirementView, v: VersionRecord, a: Assessment): RetirementEntryMessage {
    const r = v.retirement;
    return {
      model: v.model,
      version: v.version,
      owner: view.models.get(v.model)?.value.owner ?? '',
      state: a.state,
      action: a.action,
      reason: a.reason,
      last_used_at: iso(a.lastUseMs),
      expires_at: iso(a.expiresAtMs),
      retire_at: iso(a.retireAtMs),
      warned_at: r?.warnedAt ?? '',
      retired_at: r?.retiredAt ?? '',
      artifact_delete_after: r?.artifactDeleteAfter ?? '',
      artifact_deleted_at: r?.artifactDeletedAt ?? '',
      pinned: v.pinned ?? false,
      expires_after_seconds: String(a.expiresAfterSeconds),
    };
  }
}

function noSuchVersion(model: string, version: string): Error {
  return notFound(`model ${model} has no version ${version}; list them with ListVersions`);
}

function changedMeanwhile(model: string): Error {
  return aborted(`model ${model}, its route or its versions changed while this was being decided; re-read and retry`);
}

/** The versions (sorted by model, then v2 before v10) that follow the page position `after` (model/version). */
function versionsAfter(versions: Stored<VersionRecord>[], after: string | undefined): Stored<VersionRecord>[] {
  if (after === undefined) return versions;
  const [model, version] = after.split('/') as [string, string];
  return versions.filter((v) => v.value.model > model || (v.value.model === model && compareVersionNames(v.value.version, version) > 0));
}

/** A page of entries (at most a page, about 1 MiB) and the token of the next. */
function page(entries: RetirementEntryMessage[], size: number): { entries: RetirementEntryMessage[]; next_page_token: string } {
  const { page: kept, more } = fillPage(entries, size);
  const last = kept[kept.length - 1];
  return { entries: kept, next_page_token: more && last ? encodePageToken(`${last.model}/${last.version}`) : '' };
}
