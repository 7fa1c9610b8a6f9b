/**
 * The system under test, in this process: a real etcd (child process), a
 * real ControlPlane and N real PredictionNodes on loopback. Models are
 * uploaded and routed through the admin API only, like an operator would.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Etcd3 } from 'etcd3';
import { AdminClient } from '@switchyard/client';
import { KeyLayout, type RuntimeSettingsMessage } from '@switchyard/core';
import { createEtcdClient } from '@switchyard/core/etcd';
import { silentLogger } from '@switchyard/core/logging';
import { ControlPlane } from '@switchyard/control-plane';
import { PredictionNode, type PredictionNodeOptions } from '@switchyard/prediction-node';
import { makeTempDir, removeDir, startEtcd, type EtcdProcess } from '@switchyard/testkit';
import { StatusWatch } from './status-watch.js';

/** More copies than there are nodes: one on every node. */
export const EVERY_NODE = 1000;

export class BenchCluster {
  /** Clusters not stopped yet, for {@link BenchCluster.removeDirsSync}. */
  private static readonly running = new Set<BenchCluster>();
  readonly nodes: PredictionNode[] = [];
  private readonly nodeEtcds: Etcd3[] = [];
  private controlPlane: ControlPlane | undefined;
  private admin: AdminClient | undefined;
  private etcdClient: Etcd3 | undefined;
  watch: StatusWatch | undefined;

  private constructor(
    readonly etcd: EtcdProcess,
    readonly keys: KeyLayout,
    readonly dir: string,
  ) {}

  /** Starts everything; on failure stops whatever had started, then throws. */
  static async start(nodeCount: number, nodeOptions: readonly Partial<PredictionNodeOptions>[] = []): Promise<BenchCluster> {
    const etcd = await startEtcd();
    const dir = await makeTempDir('switchyard-bench-');
    const cluster = new BenchCluster(etcd, new KeyLayout('/bench/'), dir);
    BenchCluster.running.add(cluster);
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
      cluster.admin = AdminClient.connect(cluster.controlPlane.address, { callTimeoutMs: 30_000 });
      for (let i = 0; i < nodeCount; i++) {
        const nodeEtcd = createEtcdClient({ endpoints: etcd.endpoint });
        cluster.nodeEtcds.push(nodeEtcd);
        cluster.nodes.push(
          await PredictionNode.create({
            etcd: nodeEtcd,
            keys: cluster.keys,
            id: `node-${i + 1}`,
            httpListen: '127.0.0.1:0',
            dataDir: join(dir, `node-${i + 1}`),
            logger: silentLogger(),
            ...nodeOptions[i],
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

  private client(): AdminClient {
    if (!this.admin) throw new Error('cluster not started');
    return this.admin;
  }

  /** Uploads the bytes and creates the next version of `model`; returns the version name. */
  /** Uploads a model and creates a version of it with a samples document; returns its validation state. */
  async registerVersion(model: string, bytes: Uint8Array, samplesJson: Uint8Array): Promise<{ version: string; state: string }> {
    const { sha256 } = await this.client().uploadBytes(bytes);
    const created = await this.client().createVersion({ model, artifact_sha256: sha256, samples_json: samplesJson });
    return { version: created.version, state: created.validation?.state ?? '' };
  }

  /** @param runtime the version's runtime settings (issue #17); none: the model's. */
  async createVersion(model: string, bytes: Uint8Array, runtime?: RuntimeSettingsMessage): Promise<string> {
    const { sha256 } = await this.client().uploadBytes(bytes);
    return (await this.client().createVersion({ model, artifact_sha256: sha256, ...(runtime ? { runtime } : {}) })).version;
  }

  /**
   * The copies the control plane's placer keeps of each of the model's
   * versions (issue #16): {@link EVERY_NODE} for the scenarios that measure
   * nodes holding what is routed, 0 for versions loaded on request only.
   */
  async setMinCopies(model: string, minCopies: number): Promise<void> {
    await this.client().updateModel({ name: model, update_mask: ['placement.min_copies'], placement: { min_copies: minCopies, max_copies: 0, always_resident: false } });
  }

  /** SetRoute sending all traffic to `version`, kept on every node unless `everyNode` is false; resolves when the reply arrives. */
  async routeAll(model: string, version: string, everyNode = true): Promise<void> {
    if (everyNode) await this.setMinCopies(model, EVERY_NODE);
    await this.client().setRoute({ model, splits: [{ version, weight: 10_000 }] });
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

  /**
   * Creates one version of `model` per weight (all from `bytes`), routes them
   * by those basis-point weights in one SetRoute, and waits until every node
   * reports each READY and its routing table picks among all of them.
   */
  async deploySplit(model: string, bytes: Uint8Array, weights: number[], timeoutMs = 60_000): Promise<{ version: string; weight: number }[]> {
    const splits: { version: string; weight: number }[] = [];
    for (const weight of weights) splits.push({ version: await this.createVersion(model, bytes), weight });
    await this.setMinCopies(model, EVERY_NODE);
    await this.client().setRoute({ model, splits });
    for (const { version } of splits) await this.watch!.waitReady(model, version, this.nodeIds, timeoutMs);
    const deadline = Date.now() + timeoutMs;
    const complete = (node: PredictionNode): boolean => {
      const { versions, routes } = node.table;
      const route = routes.get(model);
      return (
        splits.every((s) => versions.has(`${model}/${s.version}`)) &&
        route !== undefined &&
        splits.every((s) => route.entries.some((e) => e.loaded.version === s.version && e.weight === s.weight))
      );
    };
    while (!this.nodes.every(complete)) {
      if (Date.now() > deadline) throw new Error(`the ${splits.length}-way route of ${model} is not in every node's table within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 10));
    }
    return splits;
  }

  /**
   * For a signal handler, after the child processes were SIGKILLed: removes
   * the temp dirs of every cluster not stopped, synchronously.
   */
  static removeDirsSync(): void {
    for (const cluster of BenchCluster.running) {
      for (const dir of [cluster.dir, cluster.etcd.dataDir]) {
        try {
          rmSync(dir, { recursive: true, force: true });
        } catch {
          // best effort while exiting
        }
      }
    }
  }

  /** Stops everything that was started; never throws. */
  async stop(): Promise<void> {
    BenchCluster.running.delete(this);
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
