import type { sendUnaryData, ServerReadableStream, UntypedServiceImplementation } from '@grpc/grpc-js';
import {
  resolveRuntime,
  checkInheritedRuntime,
  runtimeFromMessage,
  runtimeToMessage,
  ANONYMOUS,
  GrpcStatus,
  RouteRecordSchema,
  SwitchyardError,
  assignSlots,
  resolveSlots,
  aborted,
  alreadyExists,
  failedPrecondition,
  getCaller,
  internal,
  invalidArgument,
  notFound,
  type CallerIdentity,
  type Clock,
  type ClusterStatusMessage,
  type CreateModelRequest,
  type CreateVersionRequest,
  type EmptyMessage,
  type ListHistoryRequest,
  type ListHistoryResponse,
  type ListModelsRequest,
  type ListModelsResponse,
  type ListVersionsRequest,
  type ListVersionsResponse,
  type GetClusterStatusRequest,
  type Logger,
  type ModelMessage,
  type ModelNameRef,
  type ModelRecord,
  type ModelRef,
  type ModelStatusMessage,
  type RouteMessage,
  type RouteRecord,
  type RouteSplit,
  type SetRouteRequest,
  type UpdateModelRequest,
  type UploadArtifactRequest,
  type UploadArtifactResponse,
  type VersionMessage,
  type VersionRecord,
  type VersionRef,
  type WhoAmIResponse,
} from '@switchyard/core';
import { placementToMessage, routeToMessage, versionStateToMessage, versionToMessage } from './admin-messages.js';
import { artifactSize, isSha256, type ArtifactStore } from './artifact-store.js';
import { clusterStatus } from './cluster-status.js';
import { DeployValidation, readRequestSamples } from './deploy-validation.js';
import { toReportedError, unaryHandler } from './grpc-handlers.js';
import { historyEntry } from './history-entries.js';
import { listHistory } from './history-listing.js';
import { ModelAdmin } from './model-admin.js';
import { checkSeconds, checkVersionText } from './model-fields.js';
import { checkFitsSomeNode, measuredMemory } from './placement-admission.js';
import { DEFAULT_PLACEMENT_POLICY } from './placement-decision.js';
import { isActive } from './rollout-decision.js';
import { checkExpectedRevision, checkSplits } from './route-splits.js';
import type { ModelCondition, TargetStateStore } from './target-state-store.js';
import { encodePageToken } from './page-tokens.js';
import { checkName, compareVersionNames, nextVersionName } from './version-names.js';
import { readVersionPage } from './version-listing.js';

/** How often CreateVersion retries when another writer took the automatic name first. */
const CREATE_ATTEMPTS = 5;
/** SetRoute read-check-write attempts when a version or (without expected_revision) the route changes underneath. */
const ROUTE_ATTEMPTS = 5;

/**
 * Adds to the version messages the admin API answers with what another part
 * of the control plane knows about them (retirement: last use and expiry),
 * so every RPC that returns a version returns the same fields.
 */
export interface VersionMessageHook {
  /** `messages` are versions of `model`; returns them with the extra fields, in the same order. */
  decorate(model: string, messages: VersionMessage[]): Promise<VersionMessage[]>;
}

/** Options for {@link AdminService}. */
export interface AdminServiceOptions {
  state: TargetStateStore;
  artifacts: ArtifactStore;
  logger: Logger;
  clock: Clock;
  /** Largest artifact UploadArtifact accepts, in bytes. */
  maxArtifactBytes: number;
  /** An upload that receives nothing for this long fails DEADLINE_EXCEEDED and leaves no file. @default 60000 */
  uploadIdleTimeoutMs?: number;
  /** The local file of an artifact, which deploy-time validation loads (FileArtifactStore.path). */
  artifactPath: (sha256: string) => string;
  /** Limit on validating one version (loading it and running its samples). @default 30000 */
  validationTimeoutMs?: number;
  /** Cap on each validation process's memory. @default no cap */
  validationMemoryBytes?: number;
  /** Fills in version messages' derived fields. @default none: the stored record as it is */
  versionHook?: VersionMessageHook;
  /** Share of a node's budget the placer fills (PlacementPolicy.fillRatio): CreateVersion refuses a version bigger than that on every node. @default 0.9 */
  placementFillRatio?: number;
}

/**
 * The ModelAdmin API: validates requests, then reads and writes the target
 * state through {@link TargetStateStore}. Each RPC is also a plain async
 * method of the decoded request (and, for changes, the caller to record in
 * the audit log), so it can be called without gRPC.
 */
export class AdminService {
  readonly #state: TargetStateStore;
  readonly #artifacts: ArtifactStore;
  readonly #logger: Logger;
  readonly #clock: Clock;
  readonly #maxArtifactBytes: number;
  readonly #uploadIdleTimeoutMs: number;
  readonly #models: ModelAdmin;
  readonly #validation: DeployValidation;
  readonly #versionHook: VersionMessageHook | undefined;
  readonly #placementFillRatio: number;

  constructor(options: AdminServiceOptions) {
    this.#state = options.state;
    this.#artifacts = options.artifacts;
    this.#logger = options.logger;
    this.#clock = options.clock;
    this.#maxArtifactBytes = options.maxArtifactBytes;
    this.#uploadIdleTimeoutMs = options.uploadIdleTimeoutMs ?? 60_000;
    this.#versionHook = options.versionHook;
    this.#placementFillRatio = options.placementFillRatio ?? DEFAULT_PLACEMENT_POLICY.fillRatio;
    this.#models = new ModelAdmin({ state: options.state, logger: options.logger, clock: options.clock });
    this.#validation = new DeployValidation({
      artifacts: options.artifacts,
      artifactPath: options.artifactPath,
      timeoutMs: options.validationTimeoutMs,
      memoryLimitBytes: options.validationMemoryBytes,
      logger: options.logger.child({ component: 'validation' }),
    });
  }

  /** Ends what the admin API keeps running between calls: the warm validation processes. */
  close(): Promise<void> {
    return this.#validation.close();
  }

  /** grpc-js handlers for `server.addService(adminService().service, ...)`. */
  handlers(): UntypedServiceImplementation {
    const log = this.#logger;
    return {
      UploadArtifact: (call: ServerReadableStream<UploadArtifactRequest, UploadArtifactResponse>, callback: sendUnaryData<UploadArtifactResponse>) =>
        this.#handleUpload(call, callback),
      CreateModel: unaryHandler(log, 'CreateModel', (r: CreateModelRequest, call) => this.createModel(r, getCaller(call))),
      GetModel: unaryHandler(log, 'GetModel', (r: ModelNameRef) => this.getModel(r)),
      ListModels: unaryHandler(log, 'ListModels', (r: ListModelsRequest) => this.listModels(r)),
      UpdateModel: unaryHandler(log, 'UpdateModel', (r: UpdateModelRequest, call) => this.updateModel(r, getCaller(call))),
      DeleteModel: unaryHandler(log, 'DeleteModel', (r: ModelNameRef, call) => this.deleteModel(r, getCaller(call))),
      CreateVersion: unaryHandler(log, 'CreateVersion', (r: CreateVersionRequest, call) => this.createVersion(r, getCaller(call))),
      GetVersion: unaryHandler(log, 'GetVersion', (r: VersionRef) => this.getVersion(r)),
      ListVersions: unaryHandler(log, 'ListVersions', (r: ListVersionsRequest) => this.listVersions(r)),
      DeleteVersion: unaryHandler(log, 'DeleteVersion', (r: VersionRef, call) => this.deleteVersion(r, getCaller(call))),
      SetRoute: unaryHandler(log, 'SetRoute', (r: SetRouteRequest, call) => this.setRoute(r, getCaller(call))),
      GetRoute: unaryHandler(log, 'GetRoute', (r: ModelRef) => this.getRoute(r)),
      GetModelStatus: unaryHandler(log, 'GetModelStatus', (r: ModelRef) => this.getModelStatus(r)),
      GetClusterStatus: unaryHandler(log, 'GetClusterStatus', (r: GetClusterStatusRequest) => this.getClusterStatus(r)),
      ListHistory: unaryHandler(log, 'ListHistory', (r: ListHistoryRequest) => this.listHistory(r)),
      WhoAmI: unaryHandler(log, 'WhoAmI', (_r: EmptyMessage, call) => this.whoAmI(getCaller(call))),
    };
  }

  /** Creates an empty model. See {@link ModelAdmin.createModel}. */
  createModel(request: CreateModelRequest, caller: CallerIdentity = ANONYMOUS): Promise<ModelMessage> {
    return this.#models.createModel(request, caller);
  }

  /** One model with its version names. */
  getModel(request: ModelNameRef): Promise<ModelMessage> {
    return this.#models.getModel(request);
  }

  /** One page of models, sorted by name. See {@link ModelAdmin.listModels}. */
  listModels(request: ListModelsRequest): Promise<ListModelsResponse> {
    return this.#models.listModels(request);
  }

  /** Changes the fields named in update_mask. See {@link ModelAdmin.updateModel}. */
  updateModel(request: UpdateModelRequest, caller: CallerIdentity = ANONYMOUS): Promise<ModelMessage> {
    return this.#models.updateModel(request, caller);
  }

  /** Deletes a model without traffic, its versions and route. See {@link ModelAdmin.deleteModel}. */
  deleteModel(request: ModelNameRef, caller: CallerIdentity = ANONYMOUS): Promise<EmptyMessage> {
    return this.#models.deleteModel(request, caller);
  }

  /**
   * Every live node with its versions counted by state, and every control
   * plane; the node × version detail one page at a time. See {@link clusterStatus}.
   */
  getClusterStatus(request: Partial<GetClusterStatusRequest> = {}): Promise<ClusterStatusMessage> {
    return clusterStatus(this.#state, request);
  }

  /** One page of a model's audit log, newest first. */
  listHistory(request: ListHistoryRequest): Promise<ListHistoryResponse> {
    return listHistory(this.#state, request);
  }

  /** Who the caller is, as the auth layer established it; anonymous with auth off. */
  async whoAmI(caller: CallerIdentity = ANONYMOUS): Promise<WhoAmIResponse> {
    return { name: caller.name, role: caller.role, auth_enabled: caller.authenticated };
  }

  /**
   * Stores an uploaded artifact. `messages` is the client stream: a header
   * first, then chunks.
   */
  async uploadArtifact(messages: AsyncIterable<UploadArtifactRequest>): Promise<UploadArtifactResponse> {
    const iterator = messages[Symbol.asyncIterator]();
    // A stalled client would otherwise hold the upload (and its temp file) open for as long as the connection lives.
    const idleMs = this.#uploadIdleTimeoutMs;
    const next = (): Promise<IteratorResult<UploadArtifactRequest>> => nextWithin(iterator, idleMs);
    const first = await next();
    if (first.done) throw invalidArgument('the upload was empty; send a header message (sha256, size, filename) first, then the chunks');
    const header = first.value.part === 'header' ? first.value.header : undefined;
    if (!header) throw invalidArgument('the first message of an upload must be the header (sha256, size, filename); send the chunks after it');

    async function* chunks(): AsyncGenerator<Uint8Array> {
      for (let message = await next(); !message.done; message = await next()) {
        if (message.value.part === 'header') throw invalidArgument('a second header arrived in the upload; send one header, then only chunks');
        if (message.value.chunk && message.value.chunk.byteLength > 0) yield message.value.chunk;
      }
    }
    const expectedSize = Number(header.size);
    const result = await this.#artifacts.put(chunks(), {
      expectedSha256: header.sha256 || undefined,
      // proto3 cannot tell 0 from unset; the header documents 0 as "unknown".
      expectedSize: expectedSize > 0 ? expectedSize : undefined,
      maxBytes: this.#maxArtifactBytes,
    });
    this.#logger.info('artifact uploaded', { sha256: result.sha256, size: result.size, existed: result.existed, filename: header.filename });
    return { sha256: result.sha256, size: String(result.size), existed: result.existed };
  }

  /**
   * Creates a version from an uploaded artifact, and its model if new, after
   * deploy-time validation. A version that fails validation is still stored,
   * REJECTED with the reason, so it can be read later; SetRoute refuses it.
   */
  async createVersion(request: CreateVersionRequest, caller: CallerIdentity = ANONYMOUS): Promise<VersionMessage> {
    const model = checkName('model', request.model);
    const explicit = request.version === '' ? undefined : checkName('version', request.version);
    const sha256 = request.artifact_sha256.toLowerCase();
    if (!isSha256(sha256)) {
      throw invalidArgument(`artifact_sha256 '${request.artifact_sha256}' is not a sha256; pass the 64 hex digits UploadArtifact returned`);
    }
    checkVersionText(request);
    const expiresAfterSeconds = checkSeconds('expires_after_seconds', request.expires_after_seconds ?? 0);
    if (!(await this.#artifacts.has(sha256))) {
      throw notFound(`artifact ${sha256} is not in the store; upload it with UploadArtifact first`);
    }
    // Fail fast, before the expensive signature read; the transaction below re-checks.
    if (explicit !== undefined && (await this.#state.versionRevision(model, explicit)) !== undefined) throw versionExists(model, explicit);

    const size = await artifactSize(this.#artifacts, sha256);
    // Before validation, which loads the model: a version no node can hold is refused without that cost.
    await checkFitsSomeNode(this.#state.tables, `a version of model ${model}`, size, this.#placementFillRatio);
    // Opening a model can take any time and memory (constant folding runs at
    // load), so the signature is read in the validation child, under its limits.
    const validated = await this.#validation.run(sha256, undefined, (signature) => readRequestSamples(request.samples_json, signature));
    const signature = validated.signature;
    // Checked against the signature read from the artifact: a batch size needs a variable first dimension on every input.
    const runtime = runtimeFromMessage(request.runtime, signature);

    for (let attempt = 0; attempt < CREATE_ATTEMPTS; attempt++) {
      const now = this.#now();
      const existingModel = await this.#state.getModel(model);
      const version = explicit ?? nextVersionName(await this.#state.listVersionNames(model));
      // The model's defaults apply where the request sets nothing: they must fit this signature too.
      checkInheritedRuntime(existingModel?.value.runtime, [{ version, signature, runtime }]);
      const record: VersionRecord = {
        model,
        version,
        artifact: { sha256, size },
        signature,
        createdAt: now,
        createdBy: caller.name,
        description: request.description ?? '',
        labels: { ...request.labels },
        expiresAfterSeconds,
        samples: validated.samples,
        validation: validated.validation,
        ...(runtime ? { runtime } : {}),
      };
      const condition: ModelCondition = existingModel
        ? { createRevision: existingModel.createRevision }
        : { create: newModelRecord(model, now) };
      // A model created on the way shows as this entry being the first of its history.
      const history = historyEntry({ at: now, actor: caller.name, action: 'CreateVersion', model, version, before: null, after: record });
      const outcome = await this.#state.createVersion(record, condition, history);
      if (outcome.status === 'created') {
        this.#logger.info('version created', {
          model,
          version,
          sha256,
          modelCreated: !existingModel,
          actor: caller.name,
          validation: validated.validation.state,
          reason: validated.validation.reason || undefined,
        });
        return (await this.#versionMessages(model, [record]))[0]!;
      }
      if (outcome.status === 'version-exists' && explicit !== undefined) throw versionExists(model, explicit);
      // Someone else took the automatic name or created the model: read again.
    }
    throw aborted(`model ${model} kept changing while a version was being created; retry`);
  }

  /** One version. */
  async getVersion(request: VersionRef): Promise<VersionMessage> {
    const model = checkName('model', request.model);
    const version = checkName('version', request.version);
    const stored = await this.#state.getVersion(model, version);
    if (!stored) throw noSuchVersion(model, version);
    const [message] = await this.#versionMessages(model, [stored.value]);
    return withMemory(message!, await measuredMemory(this.#state.tables, model));
  }

  /** One page of a model's versions, v2 before v10. See {@link readVersionPage}. */
  async listVersions(request: Pick<ListVersionsRequest, 'model'> & Partial<ListVersionsRequest>): Promise<ListVersionsResponse> {
    const model = checkName('model', request.model);
    const page = await readVersionPage(this.#state, model, request);
    const [messages, memory] = await Promise.all([this.#versionMessages(model, page.records), measuredMemory(this.#state.tables, model)]);
    return {
      versions: messages.map((m) => withMemory(m, memory)),
      next_page_token: page.nextAfter !== undefined ? encodePageToken(page.nextAfter) : '',
    };
  }

  /** Version records as messages, with the hook's fields. */
  async #versionMessages(model: string, records: VersionRecord[]): Promise<VersionMessage[]> {
    // The settings in force need the model's defaults (issue #17).
    const modelRuntime = records.length > 0 ? (await this.#state.getModel(model))?.value.runtime : undefined;
    const messages = records.map((r) => ({ ...versionToMessage(r), effective_runtime: runtimeToMessage(resolveRuntime(modelRuntime, r.runtime)) }));
    return this.#versionHook && messages.length > 0 ? this.#versionHook.decorate(model, messages) : messages;
  }

  /** Deletes a version the route does not reference. Its artifact stays in the store. */
  async deleteVersion(request: VersionRef, caller: CallerIdentity = ANONYMOUS): Promise<EmptyMessage> {
    const model = checkName('model', request.model);
    const version = checkName('version', request.version);
    const stored = await this.#state.readVersionRaw(model, version);
    if (stored === undefined) throw noSuchVersion(model, version);
    const route = await this.#state.readRoute(model);
    if (route.invalid !== undefined) {
      throw failedPrecondition(
        `the route of model ${model} stored in etcd is invalid, so it cannot be checked for references to ${version}; replace it with SetRoute first`,
      );
    }
    const uses = route.current ? routeUses(route.current, version) : [];
    if (uses.length > 0) {
      throw failedPrecondition(
        `version ${version} is still in the route of model ${model} (${uses.join(', ')}); move its traffic to other versions with SetRoute first`,
      );
    }
    const history = historyEntry({ at: this.#now(), actor: caller.name, action: 'DeleteVersion', model, version, before: stored.value, after: null });
    const deleted = await this.#state.deleteVersion(model, version, { versionRevision: stored.modRevision, routeRevision: route.revision }, history);
    if (!deleted) throw aborted(`the route of model ${model} or version ${version} changed while you were deleting it; re-read them and retry`);
    this.#logger.info('version deleted', { model, version, actor: caller.name });
    return {};
  }

  /**
   * Replaces a model's traffic split, conditionally on the route's revision.
   * Only versions that passed deploy-time validation (or predate it) and are
   * not retired can be in a route; an empty split list serves nothing. The
   * write compares each routed version's revision as checked, so a version
   * retired (or otherwise changed) between the check and the write is checked
   * again; so is the route when no expected_revision was given.
   * @throws ABORTED when the route changed since expected_revision, or kept changing.
   */
  async setRoute(request: SetRouteRequest, caller: CallerIdentity = ANONYMOUS): Promise<RouteMessage> {
    const model = checkName('model', request.model);
    const splits = checkSplits(request.splits ?? []);
    const expectedRevision = checkExpectedRevision(request.expected_revision ?? 0);
    for (let attempt = 0; attempt < ROUTE_ATTEMPTS; attempt++) {
      const written = await this.#trySetRoute(model, splits, expectedRevision, caller);
      if (written) return written;
    }
    throw aborted(`the route or versions of model ${model} kept changing while the route was being set (e.g. a retirement or a rollout step); retry`);
  }

  /** One read-check-write of SetRoute; undefined when it lost a race worth retrying. */
  async #trySetRoute(model: string, splits: RouteSplit[], expectedRevision: string, caller: CallerIdentity): Promise<RouteMessage | undefined> {
    const versions = new Map((await this.#state.listVersions(model)).map((v) => [v.value.version, v]));
    const referenced = new Map<string, string>();
    for (const { version } of splits) {
      const stored = versions.get(version);
      if (stored === undefined) throw noSuchVersion(model, version);
      const validation = stored.value.validation;
      if (validation?.state === 'REJECTED') {
        throw failedPrecondition(
          `version ${version} of model ${model} failed deploy-time validation and cannot be routed: ${validation.reason}; fix the model or its samples and create a new version`,
        );
      }
      if (stored.value.retirement?.state === 'RETIRED') {
        throw failedPrecondition(`version ${version} of model ${model} is retired; unretire it with 'switchyard unretire ${model}:${version}' before routing to it`);
      }
      // The write applies only if the version is still as checked here (not retired since).
      referenced.set(version, stored.modRevision);
    }

    const route = await this.#state.readRoute(model);
    if (expectedRevision !== '0' && expectedRevision !== route.revision) throw routeChanged(model);
    if (route.invalid !== undefined) this.#logger.warn('replacing an invalid route', { model, error: route.invalid });
    const rollout = route.current?.rollout;
    if (rollout && isActive(rollout)) {
      throw failedPrecondition(
        `model ${model} has a ${rollout.state} rollout ${rollout.from} → ${rollout.to} that owns its weights; abort it (all traffic back to ${rollout.from}) or promote it (all to ${rollout.to}) with switchyard rollout abort|promote ${model}, then set the route`,
      );
    }
    // Keys keep their version across the change except those whose weight moved (route-slots.ts).
    const previousSlots = route.current ? resolveSlots(route.current).slots : undefined;
    const candidate: RouteRecord = {
      model,
      splits,
      slots: assignSlots(previousSlots, splits),
      updatedAt: this.#now(),
      updatedBy: caller.name,
      // Owned by the shadow and rollout features; a traffic change must not drop them.
      shadows: route.current?.shadows ?? [],
      rollout: route.current?.rollout ?? null,
    };
    const checked = RouteRecordSchema.safeParse(candidate);
    if (!checked.success) throw internal(`the new route of model ${model} failed its own schema: ${checked.error.message}`);

    const history = historyEntry({ at: checked.data.updatedAt, actor: caller.name, action: 'SetRoute', model, before: route.current ?? null, after: checked.data });
    const outcome = await this.#state.putRoute(checked.data, route.revision, referenced, history);
    if (outcome.status === 'version-changed') return undefined;
    if (outcome.status === 'route-changed') {
      if (expectedRevision !== '0') throw routeChanged(model);
      return undefined;
    }
    if (outcome.status === 'version-gone') {
      throw notFound(`version ${outcome.version} of model ${model} was deleted while you were editing the route; pick another version`);
    }
    this.#logger.info('route set', { model, splits: splits.map((s) => `${s.version}=${s.weight}`).join(','), revision: outcome.revision, actor: caller.name });
    return routeToMessage(checked.data, outcome.revision);
  }

  /** A model's route. */
  async getRoute(request: ModelRef): Promise<RouteMessage> {
    const model = checkName('model', request.model);
    const stored = await this.#state.getRoute(model);
    if (!stored) throw notFound(`model ${model} has no route; set one with SetRoute`);
    return routeToMessage(stored.value, stored.modRevision);
  }

  /** The route and each live node's state of each version of the model. */
  async getModelStatus(request: ModelRef): Promise<ModelStatusMessage> {
    const model = checkName('model', request.model);
    const [route, states, versionNames] = await Promise.all([
      this.#state.readRoute(model),
      this.#state.readModelStates(model),
      this.#state.listVersionNames(model),
    ]);
    const reported = states.some((s) => s.statuses.length > 0);
    if (route.revision === '0' && versionNames.length === 0 && !reported) {
      throw notFound(`model ${model} has no versions, no route and no node reports it; check the name with ListVersions`);
    }
    const nodes = states
      .map(({ node, statuses }) => ({
        node_id: node.value.id,
        address: node.value.address,
        build_version: node.value.buildVersion,
        versions: statuses
          .map((s) => s.value)
          .sort((a, b) => compareVersionNames(a.version, b.version))
          .map(versionStateToMessage),
      }))
      .sort((a, b) => (a.node_id < b.node_id ? -1 : a.node_id > b.node_id ? 1 : 0));
    const placements = (await this.#state.tables.placements.list(model))
      .map((p) => p.value)
      .sort((a, b) => compareVersionNames(a.version, b.version))
      .map(placementToMessage);
    return { model, route: route.current ? routeToMessage(route.current, route.revision) : null, nodes, placements };
  }

  #handleUpload(
    call: ServerReadableStream<UploadArtifactRequest, UploadArtifactResponse>,
    callback: sendUnaryData<UploadArtifactResponse>,
  ): void {
    // grpc-js only flags a cancelled client stream; end it so the upload stops and cleans up.
    call.on('cancelled', () => call.destroy(new Error('the client cancelled the upload')));
    this.uploadArtifact(call).then(
      (response) => callback(null, response),
      (err: unknown) => {
        callback(toReportedError(this.#logger, 'UploadArtifact', err).toServiceError());
        // An upload given up on (idle, too large, bad header) reads no more of the client's stream.
        if (!call.destroyed) call.destroy();
      },
    );
  }

  #now(): string {
    return new Date(this.#clock.now()).toISOString();
  }
}

/**
 * The stream's next message, or DEADLINE_EXCEEDED when none arrives within
 * `idleMs`; the caller then ends the stream, which settles the read left pending.
 */
function nextWithin<T>(iterator: AsyncIterator<T>, idleMs: number): Promise<IteratorResult<T>> {
  const pending = iterator.next();
  let timer: NodeJS.Timeout | undefined;
  const idle = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      // The pending read settles when the stream is torn down; nobody waits for it then.
      pending.catch(() => undefined);
      reject(
        new SwitchyardError(
          GrpcStatus.DEADLINE_EXCEEDED,
          `the upload received nothing for ${idleMs / 1000} s and was cancelled; its partial file is removed, upload again`,
        ),
      );
    }, idleMs);
  });
  return Promise.race([pending, idle]).finally(() => clearTimeout(timer));
}

function newModelRecord(name: string, now: string): ModelRecord {
  return { name, owner: '', description: '', defaultExpiresAfterSeconds: 0, createdAt: now, updatedAt: now };
}

/** Where a route sends traffic to a version, for an error message; empty when nowhere. */
function routeUses(route: RouteRecord, version: string): string[] {
  const uses: string[] = [];
  const split = route.splits.find((s) => s.version === version);
  if (split) uses.push(`split with weight ${split.weight}`);
  if (route.shadows.some((s) => s.version === version)) uses.push(`shadow: remove it with 'switchyard shadow remove ${route.model} ${version}'`);
  return uses;
}

function noSuchVersion(model: string, version: string): Error {
  return notFound(`model ${model} has no version ${version}; list them with ListVersions, or create it with CreateVersion`);
}

function versionExists(model: string, version: string): Error {
  return alreadyExists(
    `version ${version} of model ${model} already exists and versions are immutable; choose another name, or leave it empty for the next free vN`,
  );
}

function routeChanged(model: string): Error {
  return aborted(`the route of model ${model} changed while you were editing it; re-read it and retry`);
}

/** A version message with the memory nodes measured for it (issue #16). */
function withMemory(message: VersionMessage, memory: ReadonlyMap<string, number>): VersionMessage {
  return { ...message, memory_bytes: String(memory.get(message.version) ?? 0) };
}
