import * as grpc from '@grpc/grpc-js';
import type { Etcd3 } from 'etcd3';
import {
  GrpcStatus,
  ROUTED_VERSION_METADATA_KEY,
  SwitchyardError,
  unavailable,
  type ClientTlsOptions,
  type KeyLayout,
  type ModelInferRequest,
  type ModelInferResponse,
  type ModelMetadataResponse,
} from '@switchyard/core';
import { clientCredentials, type ClientCredentials } from '@switchyard/core/grpc';
import { Endpoint } from './endpoint.js';
import { EndpointPicker } from './endpoint-picker.js';
import { traceMetadata } from './trace-context.js';
import { decodeOutputs, encodeInputs, type InputTensor, type OutputTensor } from './inference-tensors.js';
import { DnsDiscovery, EtcdDiscovery, StaticDiscovery, type NodeDiscovery } from './node-discovery.js';
import { PlacementView } from './placement-view.js';
import { backoffMs, isRetryable, resolveRetryPolicy, type ResolvedRetryPolicy, type RetryOptions } from './retry-policy.js';

/** Options for {@link InferenceClient.create}. Exactly one of `nodes`, `dns`, `etcd` or `discovery`. */
export interface InferenceClientOptions {
  /** A fixed list of node addresses (host:port). */
  nodes?: string[];
  /** host:port of a DNS name; every address it resolves to is a node. Resolved again every `dnsRefreshMs`. */
  dns?: string;
  /** The node registrations in etcd (`{prefix}runtime/nodes/`). */
  etcd?: { client: Etcd3; keys?: KeyLayout };
  /** A discovery of your own. */
  discovery?: NodeDiscovery;
  /** Bearer token for nodes that require one. */
  token?: string;
  /** TLS towards the nodes; an empty object uses the system's roots. @default plaintext */
  tls?: ClientTlsOptions;
  /** Deadline of a call that names none, all its attempts included. @default 10000 */
  deadlineMs?: number;
  /** @default { maxAttempts: 3, initialBackoffMs: 25, maxBackoffMs: 500 } */
  retry?: RetryOptions;
  /** Send another attempt to another node when the first has not answered after this long; first answer wins. @default off */
  hedgeAfterMs?: number;
  /** Interval of each node's health check. @default 500 */
  healthIntervalMs?: number;
  /** @default 30000 */
  dnsRefreshMs?: number;
  /** Largest request or response message. @default 64 MiB */
  maxMessageBytes?: number;
  /** Discovery errors (bad records, failed lookups); the last good node list keeps serving. @default ignored */
  onDiscoveryError?: (err: unknown) => void;
  /**
   * With `etcd`: read where versions are placed (`target/placements/`, issue
   * #16) and send each ModelInfer straight to a node holding its version, so
   * no node has to forward it; without a placed copy, any node (which loads
   * or forwards it). @default true with `etcd`
   */
  followPlacement?: boolean;
}

/** Nodes a call should try first, and metadata it carries. */
interface Preference {
  addresses: readonly string[];
  metadata: grpc.Metadata | undefined;
}

/** Per-call options. */
export interface CallOptions {
  /** Overrides the client's default deadline. */
  deadlineMs?: number;
}

/** Options of {@link InferenceClient.infer}. */
export interface InferOptions extends CallOptions {
  /** A version to run; omitted: the model's route picks one. */
  version?: string;
  /** Sent as parameters.routing_key, for sticky routing. */
  routingKey?: string;
  /** Outputs to return; omitted: all. */
  outputs?: string[];
  /** Request id echoed in the response. */
  id?: string;
}

/** What {@link InferenceClient.infer} returns. */
export interface InferResult {
  model: string;
  /** The version that answered. */
  version: string;
  id: string;
  outputs: Record<string, OutputTensor>;
  /** The node that answered. */
  node: string;
  /** Attempts made, the answering one included. */
  attempts: number;
}

/** A node as the client sees it. */
export interface EndpointState {
  address: string;
  serving: boolean;
  /** This client's calls to it still running. */
  inFlight: number;
}

type Method = 'ModelInfer' | 'ServerReady' | 'ModelReady' | 'ServerMetadata' | 'ModelMetadata';

/**
 * A client of the KServe v2 inference protocol over a set of prediction
 * nodes: finds them (static list, DNS or etcd), checks their health, and
 * balances round robin over the SERVING ones. A call that fails with
 * UNAVAILABLE (or CANCELLED by a draining node) is sent again to another
 * node, up to `retry.maxAttempts` attempts, with jittered exponential backoff,
 * all inside the call's deadline; nothing else is retried.
 */
export class InferenceClient {
  private readonly endpoints = new Map<string, Endpoint>();
  private picker = new EndpointPicker([]);
  private readonly waiters = new Set<() => void>();
  private closed = false;

  protected constructor(
    private readonly discovery: NodeDiscovery,
    private readonly access: ClientCredentials,
    private readonly deadlineMs: number,
    private readonly policy: ResolvedRetryPolicy,
    private readonly hedgeAfterMs: number | undefined,
    private readonly healthIntervalMs: number,
    private readonly maxMessageBytes: number,
    private readonly placement: PlacementView | undefined,
  ) {}

  /** Validates the options and starts discovery; does not wait for a node to be ready (see {@link waitForReady}). */
  static async create(options: InferenceClientOptions): Promise<InferenceClient> {
    const sources = [options.nodes, options.dns, options.etcd, options.discovery].filter((s) => s !== undefined);
    if (sources.length !== 1) throw new TypeError('give exactly one of nodes, dns, etcd or discovery');
    const discovery =
      options.discovery ??
      (options.nodes
        ? new StaticDiscovery(options.nodes)
        : options.dns !== undefined
          ? new DnsDiscovery({ target: options.dns, refreshMs: options.dnsRefreshMs ?? 30_000, ...(options.onDiscoveryError ? { onError: options.onDiscoveryError } : {}) })
          : new EtcdDiscovery({
              etcd: options.etcd!.client,
              ...(options.etcd!.keys ? { keys: options.etcd!.keys } : {}),
              ...(options.onDiscoveryError ? { onError: options.onDiscoveryError } : {}),
            }));
    const deadlineMs = options.deadlineMs ?? 10_000;
    if (!(deadlineMs > 0)) throw new TypeError(`deadlineMs must be > 0, got ${options.deadlineMs}`);
    if (options.hedgeAfterMs !== undefined && !(options.hedgeAfterMs >= 0)) throw new TypeError(`hedgeAfterMs must be ≥ 0, got ${options.hedgeAfterMs}`);
    const client = new InferenceClient(
      discovery,
      clientCredentials({ ...(options.token !== undefined ? { token: options.token } : {}), ...(options.tls ? { tls: options.tls } : {}) }),
      deadlineMs,
      resolveRetryPolicy(options.retry),
      options.hedgeAfterMs,
      options.healthIntervalMs ?? 500,
      options.maxMessageBytes ?? 64 * 1024 * 1024,
      options.etcd && options.followPlacement !== false
        ? new PlacementView({ etcd: options.etcd.client, ...(options.etcd.keys ? { keys: options.etcd.keys } : {}), ...(options.onDiscoveryError ? { onError: options.onDiscoveryError } : {}) })
        : undefined,
    );
    await discovery.start((addresses) => client.setAddresses(addresses));
    await client.placement?.start();
    return client;
  }

  /** The nodes currently known, with their health. */
  get nodes(): EndpointState[] {
    return [...this.endpoints.values()].map((e) => ({ address: e.address, serving: e.serving, inFlight: e.inFlight })).sort((a, b) => (a.address < b.address ? -1 : 1));
  }

  /** Resolves once at least `count` nodes are SERVING; rejects with DEADLINE_EXCEEDED after `timeoutMs`. */
  async waitForReady(count = 1, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.picker.ready.length < count) {
      if (!(await this.changed(deadline))) {
        throw new SwitchyardError(GrpcStatus.DEADLINE_EXCEEDED, `${this.picker.ready.length} of ${count} nodes serving after ${timeoutMs} ms`);
      }
    }
  }

  /** Runs a model. Inputs go as raw contents; outputs come back as typed arrays with their shapes. */
  async infer(model: string, inputs: readonly InputTensor[], options: InferOptions = {}): Promise<InferResult> {
    const request: ModelInferRequest = {
      model_name: model,
      model_version: options.version ?? '',
      id: options.id ?? '',
      ...(options.routingKey !== undefined ? { parameters: { routing_key: { string_param: options.routingKey } } } : {}),
      ...(options.outputs ? { outputs: options.outputs.map((name) => ({ name })) } : {}),
      ...encodeInputs(inputs),
    };
    const { response, node, attempts } = await this.call<ModelInferResponse>('ModelInfer', request, options, true, this.preference(model, options));
    return { model: response.model_name, version: response.model_version, id: response.id, outputs: decodeOutputs(response), node, attempts };
  }

  /** ServerReady of one SERVING node (false when none is). */
  async serverReady(options: CallOptions = {}): Promise<boolean> {
    if (this.picker.ready.length === 0) return false;
    return (await this.call<{ ready: boolean }>('ServerReady', {}, options, false)).response.ready;
  }

  /** ModelReady on one SERVING node. */
  async modelReady(model: string, version = '', options: CallOptions = {}): Promise<boolean> {
    return (await this.call<{ ready: boolean }>('ModelReady', { name: model, version }, options, false)).response.ready;
  }

  /** ServerMetadata of one SERVING node. */
  async serverMetadata(options: CallOptions = {}): Promise<{ name: string; version: string; extensions: string[] }> {
    return (await this.call<{ name: string; version: string; extensions: string[] }>('ServerMetadata', {}, options, false)).response;
  }

  /** ModelMetadata (inputs, outputs, versions) from one SERVING node. */
  async modelMetadata(model: string, version = '', options: CallOptions = {}): Promise<ModelMetadataResponse> {
    return (await this.call<ModelMetadataResponse>('ModelMetadata', { name: model, version }, options, false)).response;
  }

  close(): void {
    this.closed = true;
    this.discovery.close();
    this.placement?.close();
    for (const e of this.endpoints.values()) e.close();
    this.endpoints.clear();
    this.picker = new EndpointPicker([]);
    this.wake();
  }

  private setAddresses(addresses: string[]): void {
    if (this.closed) return;
    const wanted = new Set(addresses);
    for (const [address, endpoint] of this.endpoints) {
      if (wanted.has(address)) continue;
      this.endpoints.delete(address);
      endpoint.close();
    }
    for (const address of wanted) {
      if (this.endpoints.has(address)) continue;
      this.endpoints.set(
        address,
        new Endpoint({
          address,
          access: this.access,
          healthIntervalMs: this.healthIntervalMs,
          channelOptions: { 'grpc.max_receive_message_length': this.maxMessageBytes, 'grpc.max_send_message_length': this.maxMessageBytes },
          onChange: () => this.rebuild(),
        }),
      );
    }
    this.rebuild();
  }

  private rebuild(): void {
    this.picker = new EndpointPicker(this.endpoints.values(), this.picker);
    this.wake();
  }

  private wake(): void {
    const waiters = [...this.waiters];
    this.waiters.clear();
    for (const w of waiters) w();
  }

  /** Waits for the next change of the ready set; false when `deadline` passed first. */
  private changed(deadline: number): Promise<boolean> {
    const left = deadline - Date.now();
    if (left <= 0 || this.closed) return Promise.resolve(false);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiters.delete(wake);
        resolve(false);
      }, left);
      const wake = (): void => {
        clearTimeout(timer);
        resolve(!this.closed);
      };
      this.waiters.add(wake);
    });
  }

  /** Where placement says a ModelInfer should go, and the version the route chose (sent along, so the node serves that one). */
  private preference(model: string, options: InferOptions): Preference | undefined {
    if (!this.placement) return undefined;
    const target = this.placement.target(model, options.version ?? '', options.routingKey);
    if (target.addresses.length === 0 && target.routedVersion === undefined) return undefined;
    let metadata: grpc.Metadata | undefined;
    if (target.routedVersion !== undefined) {
      metadata = new grpc.Metadata();
      metadata.set(ROUTED_VERSION_METADATA_KEY, target.routedVersion);
    }
    return { addresses: target.addresses, metadata };
  }

  /** A SERVING endpoint, preferring one placed to hold the version, then one not in `avoid`; waits for one until `deadline`. */
  private async pick(avoid: ReadonlySet<Endpoint>, deadline: number, prefer?: Preference): Promise<Endpoint | undefined> {
    if (prefer && prefer.addresses.length > 0) {
      const placed = prefer.addresses.map((a) => this.endpoints.get(a)).filter((e): e is Endpoint => e !== undefined && e.serving && !avoid.has(e));
      if (placed.length > 0) return placed[Math.floor(Math.random() * placed.length)];
    }
    for (;;) {
      const endpoint = this.picker.pick(avoid);
      if (endpoint) return endpoint;
      if (!(await this.changed(deadline))) return undefined;
    }
  }

  /**
   * One logical call: attempts on different nodes while they fail with a
   * retryable code, hedged attempts when `hedge`, all within the deadline.
   */
  private call<Res>(method: Method, request: object, options: CallOptions, hedge: boolean, prefer?: Preference): Promise<{ response: Res; node: string; attempts: number }> {
    if (this.closed) return Promise.reject(unavailable('the inference client is closed'));
    const deadline = Date.now() + (options.deadlineMs ?? this.deadlineMs);
    // Taken here, where the caller's span is active; every attempt carries it.
    const metadata = traceMetadata();
    const tried = new Set<Endpoint>();
    const running = new Set<grpc.ClientUnaryCall>();
    let attempts = 0;
    let settled = false;
    let lastError: SwitchyardError | undefined;
    let hedgeTimer: NodeJS.Timeout | undefined;

    return new Promise((resolve, reject) => {
      const finish = (err: SwitchyardError | undefined, result?: { response: Res; node: string; attempts: number }): void => {
        if (settled) return;
        settled = true;
        clearTimeout(hedgeTimer);
        for (const c of running) c.cancel();
        running.clear();
        if (err) reject(err);
        else resolve(result!);
      };
      const expired = (): SwitchyardError =>
        new SwitchyardError(
          GrpcStatus.DEADLINE_EXCEEDED,
          lastError ? `deadline passed after ${attempts} attempt(s); last error: ${lastError.message}` : `no node was serving before the deadline`,
        );

      const attempt = async (): Promise<void> => {
        attempts++;
        const endpoint = await this.pick(tried, deadline, prefer);
        if (settled) return;
        if (!endpoint) {
          if (running.size === 0) finish(this.closed ? unavailable('the inference client is closed') : expired());
          return;
        }
        tried.add(endpoint);
        endpoint.inFlight++;
        const stub = endpoint.client as unknown as Record<Method, UnaryStub>;
        let call: grpc.ClientUnaryCall | undefined;
        const onDone = (err: grpc.ServiceError | null, response?: unknown): void => {
          endpoint.inFlight--;
          if (call) running.delete(call);
          if (settled) return;
          if (!err) return finish(undefined, { response: response as Res, node: endpoint.address, attempts });
          const error = SwitchyardError.from(err);
          const draining = !endpoint.serving;
          if (error.code === GrpcStatus.UNAVAILABLE) endpoint.markUnavailable();
          if (!isRetryable(error.code, draining)) {
            if (running.size === 0) finish(error);
            return;
          }
          lastError = error;
          if (attempts >= this.policy.maxAttempts) {
            if (running.size === 0) finish(error);
            return;
          }
          const wait = backoffMs(this.policy, attempts);
          if (Date.now() + wait >= deadline) {
            if (running.size === 0) finish(expired());
            return;
          }
          setTimeout(() => void attempt(), wait);
        };
        try {
          const callMetadata = metadata.clone();
          // The placement hint (which copy the request is for) beside the trace context.
          if (prefer?.metadata) callMetadata.merge(prefer.metadata);
          call = stub[method].call(endpoint.client, request, callMetadata, { deadline }, onDone);
        } catch (err) {
          // A request the stub cannot even serialize.
          endpoint.inFlight--;
          return finish(new SwitchyardError(GrpcStatus.INVALID_ARGUMENT, `cannot encode the request: ${(err as Error).message}`));
        }
        running.add(call);
        scheduleHedge();
      };

      const scheduleHedge = (): void => {
        if (!hedge || this.hedgeAfterMs === undefined || settled) return;
        clearTimeout(hedgeTimer);
        hedgeTimer = setTimeout(() => {
          if (settled || attempts >= this.policy.maxAttempts || running.size === 0) return;
          if (!this.picker.ready.some((e) => !tried.has(e))) return;
          void attempt();
        }, this.hedgeAfterMs);
      };

      void attempt();
    });
  }
}

type UnaryStub = (
  request: object,
  metadata: grpc.Metadata,
  options: grpc.CallOptions,
  callback: (err: grpc.ServiceError | null, response?: unknown) => void,
) => grpc.ClientUnaryCall;
