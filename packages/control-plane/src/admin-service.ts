import type { sendUnaryData, ServerReadableStream, UntypedServiceImplementation } from '@grpc/grpc-js';
import {
  RouteRecordSchema,
  aborted,
  alreadyExists,
  failedPrecondition,
  internal,
  invalidArgument,
  notFound,
  type Clock,
  type Logger,
  type ModelRecord,
  type RouteRecord,
  type VersionRecord,
} from '@switchyard/core';
import {
  routeToMessage,
  versionStateToMessage,
  versionToMessage,
  type CreateVersionRequest,
  type ListVersionsResponse,
  type ModelRef,
  type ModelStatusMessage,
  type RouteMessage,
  type SetRouteRequest,
  type UploadArtifactRequest,
  type UploadArtifactResponse,
  type VersionMessage,
  type VersionRef,
} from './admin-messages.js';
import { isSha256, readArtifact, type ArtifactStore } from './artifact-store.js';
import { toReportedError, unaryHandler } from './grpc-handlers.js';
import { readOnnxSignature } from './onnx-signature.js';
import { checkExpectedRevision, checkSplits } from './route-splits.js';
import type { ModelCondition, TargetStateStore } from './target-state-store.js';
import { checkName, compareVersionNames, nextVersionName } from './version-names.js';

/** How often CreateVersion retries when another writer took the automatic name first. */
const CREATE_ATTEMPTS = 5;

/** Options for {@link AdminService}. */
export interface AdminServiceOptions {
  state: TargetStateStore;
  artifacts: ArtifactStore;
  logger: Logger;
  clock: Clock;
  /** Largest artifact UploadArtifact accepts, in bytes. */
  maxArtifactBytes: number;
}

/**
 * The ModelAdmin API: validates requests, then reads and writes the target
 * state through {@link TargetStateStore}. Each RPC is also a plain async
 * method of the decoded request, so it can be called without gRPC.
 */
export class AdminService {
  readonly #state: TargetStateStore;
  readonly #artifacts: ArtifactStore;
  readonly #logger: Logger;
  readonly #clock: Clock;
  readonly #maxArtifactBytes: number;

  constructor(options: AdminServiceOptions) {
    this.#state = options.state;
    this.#artifacts = options.artifacts;
    this.#logger = options.logger;
    this.#clock = options.clock;
    this.#maxArtifactBytes = options.maxArtifactBytes;
  }

  /** grpc-js handlers for `server.addService(adminService().service, ...)`. */
  handlers(): UntypedServiceImplementation {
    const log = this.#logger;
    return {
      UploadArtifact: (call: ServerReadableStream<UploadArtifactRequest, UploadArtifactResponse>, callback: sendUnaryData<UploadArtifactResponse>) =>
        this.#handleUpload(call, callback),
      CreateVersion: unaryHandler(log, 'CreateVersion', (r: CreateVersionRequest) => this.createVersion(r)),
      GetVersion: unaryHandler(log, 'GetVersion', (r: VersionRef) => this.getVersion(r)),
      ListVersions: unaryHandler(log, 'ListVersions', (r: ModelRef) => this.listVersions(r)),
      DeleteVersion: unaryHandler(log, 'DeleteVersion', (r: VersionRef) => this.deleteVersion(r)),
      SetRoute: unaryHandler(log, 'SetRoute', (r: SetRouteRequest) => this.setRoute(r)),
      GetRoute: unaryHandler(log, 'GetRoute', (r: ModelRef) => this.getRoute(r)),
      GetModelStatus: unaryHandler(log, 'GetModelStatus', (r: ModelRef) => this.getModelStatus(r)),
    };
  }

  /**
   * Stores an uploaded artifact. `messages` is the client stream: a header
   * first, then chunks.
   */
  async uploadArtifact(messages: AsyncIterable<UploadArtifactRequest>): Promise<UploadArtifactResponse> {
    const iterator = messages[Symbol.asyncIterator]();
    const first = await iterator.next();
    if (first.done) throw invalidArgument('the upload was empty; send a header message (sha256, size, filename) first, then the chunks');
    const header = first.value.part === 'header' ? first.value.header : undefined;
    if (!header) throw invalidArgument('the first message of an upload must be the header (sha256, size, filename); send the chunks after it');

    async function* chunks(): AsyncGenerator<Uint8Array> {
      for (let next = await iterator.next(); !next.done; next = await iterator.next()) {
        if (next.value.part === 'header') throw invalidArgument('a second header arrived in the upload; send one header, then only chunks');
        if (next.value.chunk && next.value.chunk.byteLength > 0) yield next.value.chunk;
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

  /** Creates a version from an uploaded artifact, and its model if new. */
  async createVersion(request: CreateVersionRequest): Promise<VersionMessage> {
    const model = checkName('model', request.model);
    const explicit = request.version === '' ? undefined : checkName('version', request.version);
    const sha256 = request.artifact_sha256.toLowerCase();
    if (!isSha256(sha256)) {
      throw invalidArgument(`artifact_sha256 '${request.artifact_sha256}' is not a sha256; pass the 64 hex digits UploadArtifact returned`);
    }
    for (const key of Object.keys(request.labels ?? {})) {
      if (key === '') throw invalidArgument('a label has an empty key; every label needs a key');
    }
    if (!(await this.#artifacts.has(sha256))) {
      throw notFound(`artifact ${sha256} is not in the store; upload it with UploadArtifact first`);
    }
    // Fail fast, before the expensive signature read; the transaction below re-checks.
    if (explicit !== undefined && (await this.#state.versionRevision(model, explicit)) !== undefined) throw versionExists(model, explicit);

    const bytes = await readArtifact(this.#artifacts, sha256);
    const signature = await readOnnxSignature(bytes);

    for (let attempt = 0; attempt < CREATE_ATTEMPTS; attempt++) {
      const now = this.#now();
      const existingModel = await this.#state.getModel(model);
      const version = explicit ?? nextVersionName(await this.#state.listVersionNames(model));
      const record: VersionRecord = {
        model,
        version,
        artifact: { sha256, size: bytes.byteLength },
        signature,
        createdAt: now,
        createdBy: '',
        description: request.description ?? '',
        labels: { ...request.labels },
        expiresAfterSeconds: 0,
        samples: null,
      };
      const condition: ModelCondition = existingModel
        ? { createRevision: existingModel.createRevision }
        : { create: newModelRecord(model, now) };
      const outcome = await this.#state.createVersion(record, condition);
      if (outcome.status === 'created') {
        this.#logger.info('version created', { model, version, sha256, modelCreated: !existingModel });
        return versionToMessage(record);
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
    return versionToMessage(stored.value);
  }

  /** Every version of a model, v2 before v10. */
  async listVersions(request: ModelRef): Promise<ListVersionsResponse> {
    const model = checkName('model', request.model);
    const versions = (await this.#state.listVersions(model)).map((v) => v.value);
    versions.sort((a, b) => compareVersionNames(a.version, b.version));
    return { versions: versions.map(versionToMessage) };
  }

  /** Deletes a version the route does not reference. Its artifact stays in the store. */
  async deleteVersion(request: VersionRef): Promise<Record<string, never>> {
    const model = checkName('model', request.model);
    const version = checkName('version', request.version);
    const versionRevision = await this.#state.versionRevision(model, version);
    if (versionRevision === undefined) throw noSuchVersion(model, version);
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
    const deleted = await this.#state.deleteVersion(model, version, { versionRevision, routeRevision: route.revision });
    if (!deleted) throw aborted(`the route of model ${model} or version ${version} changed while you were deleting it; re-read them and retry`);
    this.#logger.info('version deleted', { model, version });
    return {};
  }

  /** Replaces a model's traffic split, conditionally on the route's revision. */
  async setRoute(request: SetRouteRequest): Promise<RouteMessage> {
    const model = checkName('model', request.model);
    const splits = checkSplits(request.splits);
    const expectedRevision = checkExpectedRevision(request.expected_revision);

    const versions = new Map((await this.#state.listVersions(model)).map((v) => [v.value.version, v.createRevision]));
    const referenced = new Map<string, string>();
    for (const { version } of splits) {
      const createRevision = versions.get(version);
      if (createRevision === undefined) throw noSuchVersion(model, version);
      referenced.set(version, createRevision);
    }

    const route = await this.#state.readRoute(model);
    if (expectedRevision !== '0' && expectedRevision !== route.revision) throw routeChanged(model);
    if (route.invalid !== undefined) this.#logger.warn('replacing an invalid route', { model, error: route.invalid });
    const candidate: RouteRecord = {
      model,
      splits,
      updatedAt: this.#now(),
      updatedBy: '',
      // Owned by the shadow and rollout features; a traffic change must not drop them.
      shadows: route.current?.shadows ?? [],
      rollout: route.current?.rollout ?? null,
    };
    const checked = RouteRecordSchema.safeParse(candidate);
    if (!checked.success) throw internal(`the new route of model ${model} failed its own schema: ${checked.error.message}`);

    const outcome = await this.#state.putRoute(checked.data, route.revision, referenced);
    if (outcome.status === 'route-changed') throw routeChanged(model);
    if (outcome.status === 'version-gone') {
      throw notFound(`version ${outcome.version} of model ${model} was deleted while you were editing the route; pick another version`);
    }
    this.#logger.info('route set', { model, splits: splits.map((s) => `${s.version}=${s.weight}`).join(','), revision: outcome.revision });
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
    return { model, route: route.current ? routeToMessage(route.current, route.revision) : null, nodes };
  }

  #handleUpload(
    call: ServerReadableStream<UploadArtifactRequest, UploadArtifactResponse>,
    callback: sendUnaryData<UploadArtifactResponse>,
  ): void {
    // grpc-js only flags a cancelled client stream; end it so the upload stops and cleans up.
    call.on('cancelled', () => call.destroy(new Error('the client cancelled the upload')));
    this.uploadArtifact(call).then(
      (response) => callback(null, response),
      (err: unknown) => callback(toReportedError(this.#logger, 'UploadArtifact', err).toServiceError()),
    );
  }

  #now(): string {
    return new Date(this.#clock.now()).toISOString();
  }
}

function newModelRecord(name: string, now: string): ModelRecord {
  return { name, owner: '', description: '', defaultExpiresAfterSeconds: 0, createdAt: now, updatedAt: now };
}

/** Where a route sends traffic to a version, for an error message; empty when nowhere. */
function routeUses(route: RouteRecord, version: string): string[] {
  const uses: string[] = [];
  const split = route.splits.find((s) => s.version === version);
  if (split) uses.push(`split with weight ${split.weight}`);
  if (route.shadows.some((s) => s.version === version)) uses.push('shadow');
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
