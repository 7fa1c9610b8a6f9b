/**
 * The system under test, in this process: a real etcd (child process), a
 * real ControlPlane and N real PredictionNodes on loopback. Models are
 * uploaded and routed through the admin API only, like an operator would.
 */
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import type { Etcd3 } from 'etcd3';
import { adminService, createEtcdClient, KeyLayout, sha256Hex, silentLogger } from '@switchyard/core';
import { ControlPlane } from '@switchyard/control-plane';
import { PredictionNode } from '@switchyard/prediction-node';
import { makeTempDir, removeDir, startEtcd, type EtcdProcess } from '@switchyard/testkit';
import { StatusWatch } from './status-watch.js';

function unary<Res>(client: grpc.Client, method: string, request: object, deadlineMs = 30_000): Promise<Res> {
  const fn = (client as unknown as Record<string, Function>)[method];
  if (!fn) throw new Error(`no method ${method}`);
  return new Promise((resolve, reject) =>
    fn.call(client, request, { deadline: Date.now() + deadlineMs }, (err: grpc.ServiceError | null, res: Res) =>
      err ? reject(err) : resolve(res),
    ),
  );
}

export class BenchCluster {
  readonly nodes: PredictionNode[] = [];
  private readonly nodeEtcds: Etcd3[] = [];
  private controlPlane: ControlPlane | undefined;
  private admin: grpc.Client | undefined;
  private etcdClient: Etcd3 | undefined;
  watch: StatusWatch | undefined;

  private constructor(
    readonly etcd: EtcdProcess,
    readonly keys: KeyLayout,
    readonly dir: string,
  ) {}

  /** Starts everything; on failure stops whatever had started, then throws. */
  static async start(nodeCount: number): Promise<BenchCluster> {
    const etcd = await startEtcd();
    const dir = await makeTempDir('switchyard-bench-');
    const cluster = new BenchCluster(etcd, new KeyLayout('/bench/'), dir);
    try {
      cluster.etcdClient = createEtcdClient({ endpoints: etcd.endpoint });
      cluster.watch = await StatusWatch.start(cluster.etcdClient, cluster.keys);
      cluster.controlPlane = await ControlPlane.create({
        etcd: cluster.etcdClient,
        keys: cluster.keys,
        dataDir: join(dir, 'control-plane'),
        logger: silentLogger(),
        auth: { disabled: true },
      });
      const Admin = adminService();
      cluster.admin = new Admin(cluster.controlPlane.address, grpc.credentials.createInsecure(), {
        'grpc.max_send_message_length': 64 * 1024 * 1024,
      });
      for (let i = 0; i < nodeCount; i++) {
        const nodeEtcd = createEtcdClient({ endpoints: etcd.endpoint });
        cluster.nodeEtcds.push(nodeEtcd);
        cluster.nodes.push(
          await PredictionNode.create({
            etcd: nodeEtcd,
            keys: cluster.keys,
            id: `node-${i + 1}`,
            dataDir: join(dir, `node-${i + 1}`),
            logger: silentLogger(),
          }),
        );
      }
      await Promise.all(cluster.nodes.map((n) => n.ready()));
      return cluster;
    } catch (err) {
      await cluster.stop();
      throw err;
    }
  }

  get nodeIds(): string[] {
    return this.nodes.map((n) => n.id);
  }

  adminCall<Res>(method: string, request: object): Promise<Res> {
    if (!this.admin) throw new Error('cluster not started');
    return unary<Res>(this.admin, method, request);
  }

  /** UploadArtifact: a header, then 64 KiB chunks. */
  upload(bytes: Uint8Array): Promise<{ sha256: string }> {
    const admin = this.admin;
    if (!admin) throw new Error('cluster not started');
    return new Promise((resolve, reject) => {
      const call = (admin as unknown as { UploadArtifact: Function }).UploadArtifact(
        { deadline: Date.now() + 60_000 },
        (err: grpc.ServiceError | null, res: { sha256: string }) => (err ? reject(err) : resolve(res)),
      ) as grpc.ClientWritableStream<object>;
      call.write({ header: { sha256: sha256Hex(bytes), size: bytes.byteLength, filename: 'model.onnx' } });
      for (let off = 0; off < bytes.byteLength; off += 64 * 1024) call.write({ chunk: Buffer.from(bytes.subarray(off, off + 64 * 1024)) });
      call.end();
    });
  }

  /** Uploads the bytes and creates the next version of `model`; returns the version name. */
  async createVersion(model: string, bytes: Uint8Array): Promise<string> {
    const { sha256 } = await this.upload(bytes);
    const version = await this.adminCall<{ version: string }>('CreateVersion', { model, artifact_sha256: sha256 });
    return version.version;
  }

  /** SetRoute sending all traffic to `version`; resolves when the reply arrives. */
  async routeAll(model: string, version: string): Promise<void> {
    await this.adminCall('SetRoute', { model, splits: [{ version, weight: 10_000 }] });
  }

  /** Creates a version, routes everything to it, and waits until every node reports it READY. */
  async deploy(model: string, bytes: Uint8Array, timeoutMs = 60_000): Promise<string> {
    const version = await this.createVersion(model, bytes);
    await this.routeAll(model, version);
    await this.watch!.waitReady(model, version, this.nodeIds, timeoutMs);
    // READY is reported just before the node switches its routing table.
    await new Promise((r) => setTimeout(r, 20));
    return version;
  }

  /** Stops everything that was started; never throws. */
  async stop(): Promise<void> {
    for (const node of this.nodes) await node.stop(1000).catch(() => undefined);
    for (const client of this.nodeEtcds) client.close();
    this.admin?.close();
    await this.controlPlane?.stop().catch(() => undefined);
    this.watch?.stop();
    this.etcdClient?.close();
    await this.etcd.destroy().catch(() => undefined);
    await removeDir(this.dir).catch(() => undefined);
  }
}
