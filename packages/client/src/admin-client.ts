import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import {
  GrpcStatus,
  sha256Hex,
  SwitchyardError,
  type ClientTlsOptions,
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
  type RetirementScopeRequest,
  type ModelMessage,
  type ModelStatusMessage,
  type RouteMessage,
  type RolloutMessage,
  type SetRouteRequest,
  type StartRolloutRequest,
  type UpdateModelRequest,
  type UploadArtifactResponse,
  type VersionMessage,
  type WhoAmIResponse,
  type ListRetirementsResponse,
  type RetireResponse,
  type RetirementPlanResponse,
  type AddShadowRequest,
  type ShadowListMessage,
  type ShadowReportMessage,
} from '@switchyard/core';
import { adminService, clientCredentials } from '@switchyard/core/grpc';
import { convertAdminError } from './admin-errors.js';
import type { AdminRequest, AdminResponse, AdminUnaryMethod } from './admin-rpcs.js';
import { byteChunks, sendUpload, UPLOAD_CHUNK_BYTES, type StartUpload, type UploadProgress } from './artifact-upload.js';

/** Options for {@link AdminClient.connect}. */
export interface AdminClientOptions {
  /** Bearer token, for a control plane with access control on. @default none */
  token?: string;
  /** Where the token came from ("--token", "SWITCHYARD_TOKEN", a file), named when the server refuses it. */
  tokenSource?: string;
  /** TLS; omit for plaintext. An empty object verifies the server against the system's roots. */
  tls?: ClientTlsOptions;
  /** Where the address came from ("--control-plane", ".switchyard/cluster.json"), for error messages. @default 'given address' */
  source?: string;
  /** Deadline of each unary call, in milliseconds. @default 10000 */
  callTimeoutMs?: number;
  /**
   * Deadline of CreateVersion, which waits for deploy-time validation (bounded
   * by the control plane's validation timeout, 30 s by default, plus starting
   * the validation process). @default 120000
   */
  createVersionTimeoutMs?: number;
  /** Deadline of a whole upload. @default 600000 */
  uploadTimeoutMs?: number;
  /** Extra grpc-js channel options. */
  channelOptions?: grpc.ChannelOptions;
}

/** Per-call options. */
export interface AdminCallOptions {
  /** This call's deadline, in milliseconds, instead of the client's default. */
  timeoutMs?: number;
}

/** Options for {@link AdminClient.uploadArtifact}. */
export interface UploadFileOptions extends AdminCallOptions {
  /**
   * Expected sha256 (lower-case hex), checked by the control plane before it
   * stores anything. Without it the client hashes the file while sending and
   * checks the control plane's answer against that (one read of the file).
   */
  sha256?: string;
  /** Progress callback, e.g. for a progress bar. */
  onProgress?: UploadProgress;
}

/** Options for {@link AdminClient.uploadBytes}. */
export interface UploadBytesOptions extends AdminCallOptions {
  /** File name for the control plane's logs. @default 'artifact.onnx' */
  filename?: string;
  onProgress?: UploadProgress;
}

type Callback = (err: grpc.ServiceError | null, value?: unknown) => void;
type UnaryFn = (request: unknown, metadata: grpc.Metadata, options: grpc.CallOptions, callback: Callback) => grpc.ClientUnaryCall;
type ClientStreamingFn = (metadata: grpc.Metadata, options: grpc.CallOptions, callback: Callback) => grpc.ClientWritableStream<unknown>;

interface ResolvedOptions {
  source: string;
  tokenSource: string | undefined;
  tls: boolean;
  callTimeoutMs: number;
  createVersionTimeoutMs: number;
  uploadTimeoutMs: number;
}

function positive(name: string, value: number | undefined, fallback: number): number {
  const resolved = value ?? fallback;
  if (!Number.isFinite(resolved) || resolved <= 0) throw new TypeError(`${name} must be a positive number of milliseconds, got ${value}`);
  return resolved;
}

/**
 * A promise-based client of the control plane's ModelAdmin service
 * (proto/switchyard/admin/v1/admin.proto): one typed method per RPC. Every
 * failure is a SwitchyardError carrying the gRPC code; an unreachable control
 * plane or a refused token gets a message that says what to do next.
 */
export class AdminClient {
  private constructor(
    /** The control plane's host:port. */
    readonly address: string,
    private readonly client: grpc.Client,
    private readonly options: ResolvedOptions,
  ) {}

  /**
   * Creates a client; the connection is made on the first call.
   * @throws TypeError for bad options or a malformed token; SwitchyardError INVALID_ARGUMENT for unreadable TLS files.
   */
  static connect(address: string, options: AdminClientOptions = {}): AdminClient {
    const { credentials, options: credentialOptions } = clientCredentials({
      ...(options.token !== undefined ? { token: options.token } : {}),
      ...(options.tls !== undefined ? { tls: options.tls } : {}),
    });
    const Ctor = adminService();
    const client = new Ctor(address, credentials, { ...options.channelOptions, ...credentialOptions });
    return new AdminClient(address, client, {
      source: options.source ?? 'given address',
      tokenSource: options.token === undefined ? undefined : (options.tokenSource ?? 'the client options'),
      tls: options.tls !== undefined,
      callTimeoutMs: positive('callTimeoutMs', options.callTimeoutMs, 10_000),
      createVersionTimeoutMs: positive('createVersionTimeoutMs', options.createVersionTimeoutMs, 120_000),
      uploadTimeoutMs: positive('uploadTimeoutMs', options.uploadTimeoutMs, 600_000),
    });
  }

  /** Creates an empty model; ALREADY_EXISTS if it exists. */
  createModel(request: Pick<CreateModelRequest, 'name'> & Partial<CreateModelRequest>, options?: AdminCallOptions): Promise<ModelMessage> {
    return this.call('CreateModel', request, options);
  }

  getModel(name: string, options?: AdminCallOptions): Promise<ModelMessage> {
    return this.call('GetModel', { name }, options);
  }

  /** One page of models sorted by name; pass next_page_token back as page_token for the next. */
  listModels(request: Partial<ListModelsRequest> = {}, options?: AdminCallOptions): Promise<ListModelsResponse> {
    return this.call('ListModels', request, options);
  }

  /** Changes the fields named in update_mask (owner, description, default_expires_after_seconds). */
  updateModel(
    request: Pick<UpdateModelRequest, 'name' | 'update_mask'> & Partial<UpdateModelRequest>,
    options?: AdminCallOptions,
  ): Promise<ModelMessage> {
    return this.call('UpdateModel', request, options);
  }

  /** Deletes a model with its versions and route; FAILED_PRECONDITION while its route gives any version weight. */
  deleteModel(name: string, options?: AdminCallOptions): Promise<EmptyMessage> {
    return this.call('DeleteModel', { name }, options);
  }

  /**
   * Streams a file to the artifact store in 256 KiB chunks, with gRPC flow
   * control, so the file is never in memory whole.
   * @throws SwitchyardError: INVALID_ARGUMENT for an unreadable path, DATA_LOSS when the stored bytes are not the file's.
   */
  async uploadArtifact(path: string, options: UploadFileOptions = {}): Promise<UploadArtifactResponse> {
    let size: number;
    try {
      const info = await stat(path);
      if (!info.isFile()) throw new Error('not a regular file');
      size = info.size;
    } catch (err) {
      throw new SwitchyardError(GrpcStatus.INVALID_ARGUMENT, `cannot read ${path}: ${(err as Error).message}`, { cause: err });
    }
    const hash = createHash('sha256');
    async function* hashed(): AsyncGenerator<Uint8Array> {
      for await (const chunk of createReadStream(path, { highWaterMark: UPLOAD_CHUNK_BYTES })) {
        hash.update(chunk as Buffer);
        yield chunk as Buffer;
      }
    }
    const header = { sha256: options.sha256 ?? '', size, filename: basename(path) };
    const response = await this.upload(header, hashed(), options);
    if (options.sha256 === undefined) {
      const local = hash.digest('hex');
      if (response.sha256 !== local) {
        throw new SwitchyardError(
          GrpcStatus.DATA_LOSS,
          `the control plane stored sha256 ${response.sha256} but ${path} hashed to ${local} while it was sent; was the file changing? Upload it again`,
        );
      }
    }
    return response;
  }

  /** Uploads bytes already in memory; the control plane checks their sha256. */
  uploadBytes(bytes: Uint8Array, options: UploadBytesOptions = {}): Promise<UploadArtifactResponse> {
    const header = { sha256: sha256Hex(bytes), size: bytes.byteLength, filename: options.filename ?? 'artifact.onnx' };
    return this.upload(header, byteChunks(bytes), options);
  }

  /**
   * Creates a version from an uploaded artifact (and its model if new). The
   * result carries the deploy-time validation: a REJECTED version is stored
   * but cannot be routed.
   */
  createVersion(
    request: Pick<CreateVersionRequest, 'model' | 'artifact_sha256'> & Partial<CreateVersionRequest>,
    options?: AdminCallOptions,
  ): Promise<VersionMessage> {
    return this.call('CreateVersion', request, { timeoutMs: options?.timeoutMs ?? this.options.createVersionTimeoutMs });
  }

  getVersion(model: string, version: string, options?: AdminCallOptions): Promise<VersionMessage> {
    return this.call('GetVersion', { model, version }, options);
  }

  /** Every version of a model, v2 before v10, read page by page (see {@link listVersionsPage} for one). */
  async listVersions(model: string, options?: AdminCallOptions): Promise<ListVersionsResponse> {
    const versions: VersionMessage[] = [];
    await pages((page_token) => this.listVersionsPage({ model, page_token }, options), (page) => void versions.push(...page.versions));
    return { versions, next_page_token: '' };
  }

  /** One page of a model's versions, v2 before v10 (1,000 unless page_size says fewer). */
  listVersionsPage(request: Pick<ListVersionsRequest, 'model'> & Partial<ListVersionsRequest>, options?: AdminCallOptions): Promise<ListVersionsResponse> {
    return this.call('ListVersions', request, options);
  }

  /** FAILED_PRECONDITION while the route references the version. */
  deleteVersion(model: string, version: string, options?: AdminCallOptions): Promise<EmptyMessage> {
    return this.call('DeleteVersion', { model, version }, options);
  }

  /** Replaces the split (weights in basis points, adding up to 10000; none to serve nothing). ABORTED when expected_revision is stale. */
  setRoute(request: Pick<SetRouteRequest, 'model' | 'splits'> & Partial<SetRouteRequest>, options?: AdminCallOptions): Promise<RouteMessage> {
    return this.call('SetRoute', request, options);
  }

  getRoute(model: string, options?: AdminCallOptions): Promise<RouteMessage> {
    return this.call('GetRoute', { model }, options);
  }

  /** The route and each live node's state of each version of the model. */
  getModelStatus(model: string, options?: AdminCallOptions): Promise<ModelStatusMessage> {
    return this.call('GetModelStatus', { model }, options);
  }

  /**
   * Every live node with its versions counted by state and its state of every
   * version, and every control plane, read page by page. At thousands of
   * versions {@link getClusterStatusPage} with summary_only is what stays fast.
   */
  async getClusterStatus(options?: AdminCallOptions): Promise<ClusterStatusMessage> {
    let first: ClusterStatusMessage | undefined;
    await pages(
      (page_token) => this.getClusterStatusPage({ page_token, page_size: 5000 }, options),
      (page) => {
        if (first === undefined) first = page;
        else mergeClusterPage(first, page);
      },
    );
    return { ...first!, next_page_token: '' };
  }

  /** One page of GetClusterStatus (see admin.proto): the summary on the first, node × version detail on each. */
  getClusterStatusPage(request: Partial<GetClusterStatusRequest> = {}, options?: AdminCallOptions): Promise<ClusterStatusMessage> {
    return this.call('GetClusterStatus', request, options);
  }

  /** One page of the model's audit log, newest first. */
  listHistory(request: Pick<ListHistoryRequest, 'model'> & Partial<ListHistoryRequest>, options?: AdminCallOptions): Promise<ListHistoryResponse> {
    return this.call('ListHistory', request, options);
  }

  // Rollouts
  /**
   * Starts a stepped, gated rollout of `to_version` (docs/rollouts.md); the leading
   * control plane applies the steps. FAILED_PRECONDITION while another is active.
   */
  startRollout(request: Pick<StartRolloutRequest, 'model' | 'to_version'> & Partial<StartRolloutRequest>, options?: AdminCallOptions): Promise<RolloutMessage> {
    return this.call('StartRollout', request, options);
  }

  /** The model's active (or last) rollout, with the live figures of its current step. */
  getRollout(model: string, options?: AdminCallOptions): Promise<RolloutMessage> {
    return this.call('GetRollout', { model }, options);
  }

  /** Holds the rollout at its current step. */
  pauseRollout(model: string, reason = '', options?: AdminCallOptions): Promise<RolloutMessage> {
    return this.call('PauseRollout', { model, reason }, options);
  }

  resumeRollout(model: string, reason = '', options?: AdminCallOptions): Promise<RolloutMessage> {
    return this.call('ResumeRollout', { model, reason }, options);
  }

  /** Ends the rollout with 100% of the traffic on the old version. */
  abortRollout(model: string, reason = '', options?: AdminCallOptions): Promise<RolloutMessage> {
    return this.call('AbortRollout', { model, reason }, options);
  }

  /** Ends the rollout with 100% of the traffic on the new version, now. */
  promoteRollout(model: string, reason = '', options?: AdminCallOptions): Promise<RolloutMessage> {
    return this.call('PromoteRollout', { model, reason }, options);
  }
  // Shadows
  /** Makes a version a shadow of the model's route, or changes an existing shadow's settings. */
  addShadow(request: Pick<AddShadowRequest, 'model' | 'version' | 'fraction'> & Partial<AddShadowRequest>, options?: AdminCallOptions): Promise<ShadowListMessage> {
    return this.call('AddShadow', request, options);
  }

  /** Stops mirroring to a version; its figures stay in the report. */
  removeShadow(model: string, version: string, options?: AdminCallOptions): Promise<ShadowListMessage> {
    return this.call('RemoveShadow', { model, version }, options);
  }

  listShadows(model: string, options?: AdminCallOptions): Promise<ShadowListMessage> {
    return this.call('ListShadows', { model }, options);
  }

  /** Every node's shadow figures of the model, summed per (primary, shadow). */
  getShadowReport(model: string, options?: AdminCallOptions): Promise<ShadowReportMessage> {
    return this.call('GetShadowReport', { model }, options);
  }

  // Retirement
  /** What the sweeper would warn, clear, retire and collect now, and why (a dry run); `model` empty for every model. */
  async retirementPlan(model = '', options?: AdminCallOptions): Promise<RetirementPlanResponse> {
    let plan: RetirementPlanResponse | undefined;
    await pages(
      (page_token) => this.retirementPlanPage({ model, page_token }, options),
      (page) => void (plan === undefined ? (plan = page) : plan.entries.push(...page.entries)),
    );
    return { ...plan!, next_page_token: '' };
  }

  /** One page of {@link retirementPlan}. */
  retirementPlanPage(request: Partial<RetirementScopeRequest>, options?: AdminCallOptions): Promise<RetirementPlanResponse> {
    return this.call('RetirementPlan', request, options);
  }

  /** Versions that are WARNED or RETIRED; `model` empty for every model. */
  async listRetirements(model = '', options?: AdminCallOptions): Promise<ListRetirementsResponse> {
    const entries: ListRetirementsResponse['entries'] = [];
    await pages((page_token) => this.listRetirementsPage({ model, page_token }, options), (page) => void entries.push(...page.entries));
    return { entries, next_page_token: '' };
  }

  /** One page of {@link listRetirements}. */
  listRetirementsPage(request: Partial<RetirementScopeRequest>, options?: AdminCallOptions): Promise<ListRetirementsResponse> {
    return this.call('ListRetirements', request, options);
  }

  /** Retires a version now, or with `version` empty the whole model (needs admin). */
  retire(model: string, version = '', options?: AdminCallOptions): Promise<RetireResponse> {
    return this.call('Retire', { model, version }, options);
  }

  /** Makes a RETIRED version ACTIVE again while its artifact is kept; gives it no weight (needs admin). */
  unretire(model: string, version: string, options?: AdminCallOptions): Promise<VersionMessage> {
    return this.call('Unretire', { model, version }, options);
  }

  /** Pins (never expires) or unpins a version (needs admin). */
  pinVersion(model: string, version: string, pinned: boolean, options?: AdminCallOptions): Promise<VersionMessage> {
    return this.call('PinVersion', { model, version, pinned }, options);
  }


  /** Who the control plane takes the caller for. */
  whoAmI(options?: AdminCallOptions): Promise<WhoAmIResponse> {
    return this.call('WhoAmI', {}, options);
  }

  /**
   * Any unary RPC by its proto name; the named methods above are the usual
   * way in, this one serves generic callers (test harnesses, scripts).
   */
  call<M extends AdminUnaryMethod>(method: M, request: AdminRequest<M>, options: AdminCallOptions = {}): Promise<AdminResponse<M>> {
    const fn = (this.client as unknown as Record<string, UnaryFn | undefined>)[method];
    if (typeof fn !== 'function') return Promise.reject(new TypeError(`ModelAdmin has no RPC named ${String(method)}`));
    const timeoutMs = options.timeoutMs ?? this.options.callTimeoutMs;
    return new Promise((resolve, reject) => {
      fn.call(this.client, request, new grpc.Metadata(), { deadline: Date.now() + timeoutMs }, (err, value) =>
        err ? reject(this.convert(err, timeoutMs)) : resolve(value as AdminResponse<M>),
      );
    });
  }

  /** Closes the channel; calls made afterwards fail. */
  close(): void {
    this.client.close();
  }

  private async upload(
    header: { sha256: string; size: number; filename: string },
    chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
    options: AdminCallOptions & { onProgress?: UploadProgress },
  ): Promise<UploadArtifactResponse> {
    const fn = (this.client as unknown as Record<string, ClientStreamingFn>)['UploadArtifact']!;
    const timeoutMs = options.timeoutMs ?? this.options.uploadTimeoutMs;
    const start = ((callback) =>
      fn.call(this.client, new grpc.Metadata(), { deadline: Date.now() + timeoutMs }, callback as Callback)) as StartUpload;
    try {
      return await sendUpload(start, header, chunks, options.onProgress);
    } catch (err) {
      throw this.convert(err, timeoutMs);
    }
  }

  private convert(err: unknown, timeoutMs: number): SwitchyardError {
    return convertAdminError(err, {
      address: this.address,
      source: this.options.source,
      tls: this.options.tls,
      tokenSource: this.options.tokenSource,
      timeoutMs,
    });
  }
}

/** Calls `fetch` from the first page on, handing each page to `take`, until a page has no next_page_token. */
async function pages<P extends { next_page_token: string }>(fetch: (token: string) => Promise<P>, take: (page: P) => void): Promise<void> {
  let token = '';
  do {
    const page = await fetch(token);
    take(page);
    token = page.next_page_token;
  } while (token !== '');
}

/** Adds a later page's node × version detail to the first page's nodes. */
function mergeClusterPage(into: ClusterStatusMessage, page: ClusterStatusMessage): void {
  const byId = new Map(into.nodes.map((n) => [n.node.node_id, n]));
  for (const node of page.nodes) {
    const known = byId.get(node.node.node_id);
    // A node registered after the first page was read: keep its detail all the same.
    if (known) known.versions.push(...node.versions);
    else {
      into.nodes.push(node);
      byId.set(node.node.node_id, node);
    }
  }
}
