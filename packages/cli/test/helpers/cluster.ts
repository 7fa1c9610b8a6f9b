import { join } from 'node:path';
import type { Etcd3 } from 'etcd3';
import { KeyLayout } from '@switchyard/core';
import { createEtcdClient } from '@switchyard/core/etcd';
import { silentLogger } from '@switchyard/core/logging';
import { ControlPlane } from '@switchyard/control-plane';
import { PredictionNode } from '@switchyard/prediction-node';
import { makeTempDir, removeDir, startEtcd, type EtcdProcess } from '@switchyard/testkit';

/**
 * A real etcd, one control plane and N prediction nodes in the test process,
 * for driving the CLI against as a subprocess.
 */
export class TestCluster {
  private constructor(
    readonly etcd: EtcdProcess,
    readonly controlPlane: ControlPlane,
    readonly nodes: PredictionNode[],
    readonly dir: string,
    private readonly clients: Etcd3[],
  ) {}

  static async start(nodeCount: number): Promise<TestCluster> {
    const dir = await makeTempDir('switchyard-cli-test-');
    const etcd = await startEtcd();
    const keys = new KeyLayout();
    const clients: Etcd3[] = [];
    const client = (): Etcd3 => {
      const c = createEtcdClient({ endpoints: etcd.endpoint });
      clients.push(c);
      return c;
    };
    const logger = silentLogger();
    // Spread so this compiles with and without the control plane's `auth` option.
    const access = { auth: { disabled: true } };
    const controlPlane = await ControlPlane.create({ ...access, etcd: client(), keys, dataDir: join(dir, 'control-plane'), logger });
    const nodes: PredictionNode[] = [];
    for (let i = 1; i <= nodeCount; i++) {
      nodes.push(
        await PredictionNode.create({ etcd: client(), keys, id: `node-${i}`, dataDir: join(dir, `node-${i}`), logger, loadRetryMinMs: 200 }),
      );
    }
    await Promise.all(nodes.map((n) => n.ready(20_000)));
    return new TestCluster(etcd, controlPlane, nodes, dir, clients);
  }

  async stop(): Promise<void> {
    await Promise.allSettled(this.nodes.map((n) => n.stop(500)));
    await this.controlPlane.stop().catch(() => undefined);
    for (const c of this.clients) c.close();
    await this.etcd.destroy();
    await removeDir(this.dir);
  }
}
