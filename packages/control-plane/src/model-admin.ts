import {
  ANONYMOUS,
  NAME_PATTERN,
  aborted,
  alreadyExists,
  checkInheritedRuntime,
  failedPrecondition,
  notFound,
  type CallerIdentity,
  type Clock,
  type CreateModelRequest,
  type ListModelsRequest,
  type ListModelsResponse,
  type Logger,
  type ModelMessage,
  type ModelNameRef,
  type ModelRecord,
  type UpdateModelRequest,
} from '@switchyard/core';
import { modelToMessage } from './admin-messages.js';
import { historyEntry } from './history-entries.js';
import { applyModelUpdate, checkModelText, checkPlacement, checkSeconds, checkUpdateMask } from './model-fields.js';
import { decodePageToken, encodePageToken, fillPage, resolvePageSize, type PageLimits } from './page-tokens.js';
import { checkExpectedRevision } from './route-splits.js';
import type { Stored, TargetStateStore } from './target-state-store.js';
import { checkName, compareVersionNames } from './version-names.js';

/** ListModels: 100 models unless asked otherwise, never more than 1000. */
export const MODEL_PAGE_LIMITS: PageLimits = { default: 100, max: 1000 };

/** Options for {@link ModelAdmin}. */
export interface ModelAdminOptions {
  state: TargetStateStore;
  logger: Logger;
  clock: Clock;
}

/**
 * The model RPCs of the admin API: create, get, list, update and delete
 * model records. Each write is one etcd transaction conditional on what was
 * read, with its audit log entry.
 */
export class ModelAdmin {
  readonly #state: TargetStateStore;
  readonly #logger: Logger;
  readonly #clock: Clock;

  constructor(options: ModelAdminOptions) {
    this.#state = options.state;
    this.#logger = options.logger;
    this.#clock = options.clock;
  }

  /** Creates an empty model. @throws ALREADY_EXISTS when the name is taken. */
  async createModel(request: CreateModelRequest, caller: CallerIdentity = ANONYMOUS): Promise<ModelMessage> {
    const name = checkName('model', request.name);
    checkModelText(request);
    const now = this.#now();
    const record: ModelRecord = {
      name,
      owner: request.owner ?? '',
      description: request.description ?? '',
      defaultExpiresAfterSeconds: checkSeconds('default_expires_after_seconds', request.default_expires_after_seconds ?? 0),
      createdAt: now,
      updatedAt: now,
      ...(request.placement ? { placement: checkPlacement(request.placement) } : {}),
    };
    const history = historyEntry({ at: now, actor: caller.name, action: 'CreateModel', model: name, before: null, after: record });
    const outcome = await this.#state.createModel(record, history);
    if (outcome.status === 'exists') {
      throw alreadyExists(`model ${name} already exists; change it with UpdateModel, or choose another name`);
    }
    this.#logger.info('model created', { model: name, actor: caller.name });
    return modelToMessage(record, outcome.revision, []);
  }

  /** One model with its version names. */
  async getModel(request: ModelNameRef): Promise<ModelMessage> {
    const name = checkName('model', request.name);
    const stored = await this.#state.getModel(name);
    if (!stored) throw noSuchModel(name);
    return this.#toMessage(stored);
  }

  /**
   * One page of models in name order. The page is read in slices of etcd keys
   * starting after the token's name, so a page never loads more than it
   * needs, however many models there are or however few match the filter.
   */
  async listModels(request: ListModelsRequest): Promise<ListModelsResponse> {
    const pageSize = resolvePageSize(request.page_size ?? 0, MODEL_PAGE_LIMITS);
    const filter = request.name_filter ?? '';
    let after = decodePageToken('ListModels', request.page_token ?? '', (name) => NAME_PATTERN.test(name));
    let revision: string | undefined;
    const page: Stored<ModelRecord>[] = [];
    // Whether a model may follow the page; only then is there a next page token.
    let more = false;
    for (;;) {
      // One key more than a page, so a full unfiltered page knows whether anything follows it.
      const slice = await this.#state.readModels({ after, limit: pageSize + 1, revision });
      revision = slice.revision;
      for (const model of slice.models) {
        if (!model.value.name.includes(filter)) continue;
        if (page.length === pageSize) {
          more = true;
          break;
        }
        page.push(model);
      }
      if (more || !slice.more || slice.lastName === undefined) break;
      if (page.length === pageSize) {
        // Keys remain but none has been checked against the filter: the next page may come out empty.
        more = true;
        break;
      }
      after = slice.lastName;
    }
    const messages = await this.#toMessages(page, filter === '', revision);
    // Models with thousands of versions carry thousands of names: a page also ends at about 1 MiB.
    const { page: models, more: cut } = fillPage(messages, pageSize);
    const last = models[models.length - 1];
    return { models, next_page_token: (more || cut) && last ? encodePageToken(last.name) : '' };
  }

  /** Changes the fields named in update_mask, conditionally on expected_revision. */
  async updateModel(request: UpdateModelRequest, caller: CallerIdentity = ANONYMOUS): Promise<ModelMessage> {
    const name = checkName('model', request.name);
    const fields = checkUpdateMask(request.update_mask ?? []);
    checkModelText(request, fields);
    const expectedRevision = checkExpectedRevision(request.expected_revision ?? 0, 'GetModel');
    const stored = await this.#state.getModel(name);
    if (!stored) throw noSuchModel(name);
    if (expectedRevision !== '0' && expectedRevision !== stored.modRevision) throw modelChanged(name);
    const now = this.#now();
    const record = applyModelUpdate(stored.value, request, fields, now);
    if (fields.has('runtime') && record.runtime) {
      // Defaults reach every version without settings of its own: each must be able to run with them.
      const versions = await this.#state.listVersions(name);
      checkInheritedRuntime(record.runtime, versions.map((v) => v.value));
    }
    const history = historyEntry({ at: now, actor: caller.name, action: 'UpdateModel', model: name, before: stored.value, after: record });
    const revision = await this.#state.updateModel(record, stored.modRevision, history);
    if (revision === undefined) throw modelChanged(name);
    this.#logger.info('model updated', { model: name, fields: [...fields].join(','), actor: caller.name });
    return this.#toMessage({ ...stored, value: record, modRevision: revision });
  }

  /**
   * Deletes a model, its versions and its route in one transaction; its
   * audit log stays, and artifacts stay in the store.
   * @throws FAILED_PRECONDITION while the route gives any version weight.
   */
  async deleteModel(request: ModelNameRef, caller: CallerIdentity = ANONYMOUS): Promise<Record<string, never>> {
    const name = checkName('model', request.name);
    const tree = await this.#state.readModelTree(name);
    if (!tree.model && tree.route.revision === '0' && tree.versionNames.length === 0) throw noSuchModel(name);
    if (tree.route.invalid !== undefined) {
      throw failedPrecondition(
        `the route of model ${name} stored in etcd is invalid, so it cannot be checked for traffic; replace it with SetRoute (an empty split list serves nothing) first`,
      );
    }
    const weighted = (tree.route.current?.splits ?? []).filter((s) => s.weight > 0);
    if (weighted.length > 0) {
      const listed = weighted.map((s) => `${s.version} (weight ${s.weight})`).join(', ');
      throw failedPrecondition(
        `model ${name} still routes traffic to ${listed}; move its traffic away first with SetRoute (an empty split list serves nothing), then delete it`,
      );
    }
    const history = historyEntry({ at: this.#now(), actor: caller.name, action: 'DeleteModel', model: name, before: tree.model?.value ?? null, after: null });
    const deleted = await this.#state.deleteModel(
      name,
      { modelRevision: tree.model?.modRevision ?? '0', routeRevision: tree.route.revision, readRevision: tree.revision },
      history,
    );
    if (!deleted) throw aborted(`model ${name}, its route or a version changed while you were deleting it; re-read them and retry`);
    this.#logger.info('model deleted', { model: name, versions: tree.versionNames.join(','), actor: caller.name });
    return {};
  }

  /**
   * A page of models with their version names. Unfiltered, the page's models
   * are adjacent in key order, and so are their versions: one range read
   * covers them all. A filtered page may skip many models in between, so
   * each model's versions are read on their own.
   */
  async #toMessages(page: readonly Stored<ModelRecord>[], adjacent: boolean, revision?: string): Promise<ModelMessage[]> {
    if (!adjacent) return Promise.all(page.map((m) => this.#toMessage(m, revision)));
    const names = await this.#state.listVersionNamesOfModels(page.map((m) => m.value.name), revision);
    return page.map((m) => modelToMessage(m.value, m.modRevision, (names.get(m.value.name) ?? []).sort(compareVersionNames)));
  }

  async #toMessage(stored: Stored<ModelRecord>, revision?: string): Promise<ModelMessage> {
    const versions = await this.#state.listVersionNames(stored.value.name, revision);
    return modelToMessage(stored.value, stored.modRevision, versions.sort(compareVersionNames));
  }

  #now(): string {
    return new Date(this.#clock.now()).toISOString();
  }
}

function noSuchModel(name: string): Error {
  return notFound(`model ${name} does not exist; list models with ListModels, or create it with CreateModel`);
}

function modelChanged(name: string): Error {
  return aborted(`model ${name} changed since you read it; re-read it with GetModel and retry`);
}
