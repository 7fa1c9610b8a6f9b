import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import type { Etcd3 } from 'etcd3';
import { AdminClient, type AdminUnaryMethod } from '@switchyard/client';
import {
  decodeRaw,
  encodeRaw,
  KeyLayout,
  type Datatype,
  type InferParameter,
  type ModelInferResponse,
  type TypedArray,
} from '@switchyard/core';
import { createEtcdClient } from '@switchyard/core/etcd';
import { clientCredentials, inferenceService, type ClientCredentialsOptions } from '@switchyard/core/grpc';
import { silentLogger } from '@switchyard/core/logging';
import { ControlPlane, type ControlPlaneOptions } from '@switchyard/control-plane';
import { PredictionNode, type PredictionNodeOptions } from '@switchyard/prediction-node';
import { makeTempDir, removeDir, startEtcd, waitFor, type EtcdProcess } from '@switchyard/testkit';
import { unary } from './grpc-call.js';
import { TestPlacer } from './test-placer.js';

let prefixCounter = 0;

/** Options for {@link TestCluster.start}. */
export interface TestClusterOptions {
  nodes?: number;
  /** Reuse an etcd started by the test file. */
  etcd?: EtcdProcess;
  /** Extra options for every node. */
  nodeOptions?: Partial<PredictionNodeOptions>;
  /** Endpoint the nodes use for etcd (e.g. through a proxy); defaults to etcd's. */
  nodeEtcdEndpoint?: string;
  /** Extra options for the control plane, e.g. `auth` and `tls`. @default auth disabled, plaintext */
  controlPlaneOptions?: Partial<ControlPlaneOptions>;
  /** Key prefix of the cluster. @default a fresh one per cluster, so test files can share an etcd */
  prefix?: string;
  /** Wait until every node is ready before start() returns. @default false */
  waitReady?: boolean;
  /** Token and TLS of the test's admin client. @default none, plaintext */
  adminAccess?: ClientCredentialsOptions;
  /** TLS of the test's inference clients. @default plaintext */
  inferenceAccess?: ClientCredentialsOptions;
  /**
   * Every model asks the control plane's placer for a copy on every node
   * ({@link TestPlacer}), as nodes loaded everything before placements
   * (issue #16). Tests of density itself set it false. @default true
   */
  placeEverywhere?: boolean;
}

/**
 * A real cluster in the test process: an etcd child process, one control
 * plane and N prediction nodes, each on free loopback ports, all under one
 * fresh key prefix so test files can share an etcd. The one in-process
 * cluster builder of the end-to-end, CLI and console tests.
 */
export class TestCluster {
  readonly nodes: PredictionNode[] = [];
  readonly nodeClients: grpc.Client[] = [];
  private readonly nodeEtcds: Etcd3[] = [];
  /** Places every routed version on every node; undefined with `placeEverywhere: false`. */
  placer: TestPlacer | undefined;

  private constructor(
    readonly etcd: EtcdProcess,
    private readonly ownsEtcd: boolean,
    readonly client: Etcd3,
    readonly keys: KeyLayout,
    readonly controlPlane: ControlPlane,
    readonly admin: AdminClient,
    readonly dir: string,
    private readonly options: TestClusterOptions,
  ) {}

  static async start(options: TestClusterOptions = {}): Promise<TestCluster> {
    const etcd = options.etcd ?? (await startEtcd());
    const client = createEtcdClient({ endpoints: etcd.endpoint });
    const keys = new KeyLayout(options.prefix ?? `/test-${process.pid}-${++prefixCounter}/`);
    const dir = await makeTempDir('switchyard-e2e-');
    const controlPlane = await ControlPlane.create({
      etcd: client,
      keys,
      dataDir: join(dir, 'control-plane'),
      logger: silentLogger(),
      auth: { disabled: true },
      ...options.controlPlaneOptions,
    });
    const admin = AdminClient.connect(controlPlane.address, { ...options.adminAccess, source: 'the test cluster' });
    const cluster = new TestCluster(etcd, !options.etcd, client, keys, controlPlane, admin, dir, options);
    if (options.placeEverywhere !== false) cluster.placer = await TestPlacer.start(client, keys, admin);
    for (let i = 0; i < (options.nodes ?? 2); i++) await cluster.addNode();
    if (options.waitReady) await Promise.all(cluster.nodes.map((n) => n.ready(20_000)));
    return cluster;
  }

  /** Starts another node (or restarts node `index` under its old id and data dir). */
  async addNode(index = this.nodes.length): Promise<PredictionNode> {
    const etcd = createEtcdClient({ endpoints: this.options.nodeEtcdEndpoint ?? this.etcd.endpoint });
    const node = await PredictionNode.create({
      etcd,
      keys: this.keys,
      id: `node-${index + 1}`,
      dataDir: join(this.dir, `node-${index + 1}`),
      logger: silentLogger(),
      leaseTtlSeconds: 5,
      loadRetryMinMs: 200,
      // Tests stop nodes often; the drain grace is exercised in node-lifecycle.test.ts.
      drainGraceMs: 0,
      ...this.options.nodeOptions,
    });
    const Inference = inferenceService();
    this.nodes[index] = node;
    this.nodeEtcds[index] = etcd;
    this.nodeClients[index]?.close();
    const access = clientCredentials(this.options.inferenceAccess);
    this.nodeClients[index] = new Inference(node.address, access.credentials, access.options);
    return node;
  }

  /** Stops node `index` (drain) and closes its etcd client. */
  async stopNode(index: number): Promise<void> {
    await this.nodes[index]?.stop(1000);
    this.nodeEtcds[index]?.close();
  }

  /** Any unary admin RPC by its proto name; rejects with a SwitchyardError (which has `code`, like a grpc ServiceError). */
  adminCall<Res>(method: string, request: object): Promise<Res> {
    return this.admin.call(method as AdminUnaryMethod, request) as Promise<Res>;
  }

  /** Uploads model bytes through the admin API; returns the sha256. */
  async upload(bytes: Uint8Array): Promise<{ sha256: string; size: string }> {
    const uploaded = await this.admin.uploadBytes(bytes, { filename: 'model.onnx' });
    return { sha256: uploaded.sha256, size: String(uploaded.size) };
  }

  /** Uploads and creates a version; returns its name. */
  async createVersion(model: string, bytes: Uint8Array): Promise<string> {
    const { sha256 } = await this.upload(bytes);
    return (await this.admin.createVersion({ model, artifact_sha256: sha256 })).version;
  }

  async setRoute(model: string, splits: Record<string, number>): Promise<void> {
    await this.admin.setRoute({ model, splits: Object.entries(splits).map(([version, weight]) => ({ version, weight })) });
  }

  /** Creates a version, routes all traffic to it and waits until every node serves it. */
  async deploy(model: string, bytes: Uint8Array): Promise<string> {
    const version = await this.createVersion(model, bytes);
    await this.setRoute(model, { [version]: 10_000 });
    await this.waitServing(model, version);
    return version;
  }

  /** Waits until every running node routes unversioned requests of `model` only to `version`. */
  async waitServing(model: string, version: string, timeoutMs = 15_000): Promise<void> {
    await waitFor(
      () =>
        this.runningNodes().every((n) => {
          const route = n.table.routes.get(model);
          return route !== undefined && route.entries.length === 1 && route.entries[0]!.loaded.version === version;
        }),
      { timeoutMs, message: `every node serving ${model}:${version}` },
    );
    // Status keys are written asynchronously after the table switches; tests read them next.
    await waitFor(
      async () => {
        for (const n of this.runningNodes()) if ((await this.status(n.id, model, version))?.state !== 'READY') return false;
        return true;
      },
      { timeoutMs, message: `every node reporting ${model}:${version} READY in etcd` },
    );
  }

  runningNodes(): PredictionNode[] {
    return this.nodes.filter((n) => n.state === 'SERVING' || n.state === 'STARTING');
  }

  /** The status record a node wrote for a version, read from etcd. */
  async status(nodeId: string, model: string, version: string): Promise<{ state: string; error: string } | undefined> {
    const raw = await this.client.get(this.keys.status(nodeId, model, version)).string();
    return raw ? (JSON.parse(raw) as { state: string; error: string }) : undefined;
  }

  /** ModelInfer with raw contents against node `index`. */
  infer(
    index: number,
    model: string,
    inputs: { name: string; datatype: Datatype; shape: number[]; data: TypedArray }[],
    extra: { version?: string; deadlineMs?: number; parameters?: Record<string, InferParameter> } = {},
  ): Promise<ModelInferResponse> {
    return unary<ModelInferResponse>(
      this.nodeClients[index]!,
      'ModelInfer',
      {
        model_name: model,
        model_version: extra.version ?? '',
        ...(extra.parameters ? { parameters: extra.parameters } : {}),
        inputs: inputs.map((i) => ({ name: i.name, datatype: i.datatype, shape: i.shape })),
        raw_input_contents: inputs.map((i) => encodeRaw(i.data)),
      },
      extra.deadlineMs ?? 10_000,
    );
  }

  async stop(): Promise<void> {
    await this.placer?.close();
    for (let i = 0; i < this.nodes.length; i++) await this.stopNode(i).catch(() => undefined);
    for (const c of this.nodeClients) c.close();
    this.admin.close();
    await this.controlPlane.stop().catch(() => undefined);
    this.client.close();
    if (this.ownsEtcd) await this.etcd.destroy();
    await removeDir(this.dir);
  }
}

/** The FP32 values of a response's output `name`. */
export function outputValues(response: ModelInferResponse, name: string): number[] {
  const i = response.outputs.findIndex((o) => o.name === name);
  if (i < 0) throw new Error(`no output ${name}`);
  const datatype = response.outputs[i]!.datatype as Datatype;
  return Array.from(decodeRaw(datatype, response.raw_output_contents[i]!) as ArrayLike<number | bigint>, Number);
}
