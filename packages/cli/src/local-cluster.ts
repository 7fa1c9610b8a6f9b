import { join, resolve } from 'node:path';
import { mkdir } from 'node:fs/promises';
import type { Etcd3 } from 'etcd3';
import { DEFAULT_PREFIX, KeyLayout, type EtcdConnectionOptions, type Logger } from '@switchyard/core';
import { createEtcdClient } from '@switchyard/core/etcd';
import type { ControlPlane, ControlPlaneOptions } from '@switchyard/control-plane';
import type { PredictionNode } from '@switchyard/prediction-node';
import type { ClusterFile } from './cluster-file.js';
import { EtcdChild } from './etcd-child.js';
import { freePort, portIsFree } from './ports.js';

/** The admin port people expect from the docs; any free port when taken. */
export const PREFERRED_ADMIN_PORT = 7000;
/** The console port people expect from the docs; any free port when taken. */
export const PREFERRED_CONSOLE_PORT = 7080;

/** Options for {@link LocalCluster.start}. */
export interface LocalClusterOptions {
  /** The etcd binary to run; ignored with `externalEtcd`. */
  etcdBinary: string;
  /** Use this etcd instead of starting one (it is left running at stop). */
  externalEtcd?: EtcdConnectionOptions;
  /** The control plane's access control: `up` passes its local tokens file, or `{ disabled: true }` for --insecure-no-auth. */
  auth: ControlPlaneOptions['auth'];
  /** Token the in-process nodes present to download artifacts when auth is on. */
  nodeToken?: string;
  dataDir: string;
  nodes: number;
  /** etcd client port; 0 for a free one. */
  etcdPort: number;
  /** Host the control plane and nodes listen on. */
  host: string;
  /** etcd key prefix. @default DEFAULT_PREFIX */
  prefix?: string;
  /**
   * host:port of the web console; an empty string picks `host`:7080, or any
   * free port when that is taken. @default no console
   */
  consoleListen?: string;
  logger: Logger;
}

/**
 * etcd (a child process), one control plane and N prediction nodes in this
 * process: everything `switchyard up` runs. Stops in reverse order so nodes
 * deregister while etcd is still there.
 */
export class LocalCluster {
  private constructor(
    readonly info: ClusterFile,
    private readonly etcd: EtcdChild | undefined,
    private readonly clients: Etcd3[],
    private readonly controlPlane: ControlPlane,
    private readonly nodes: PredictionNode[],
  ) {}

  static async start(options: LocalClusterOptions): Promise<LocalCluster> {
    const dataDir = resolve(options.dataDir);
    await mkdir(dataDir, { recursive: true });
    let etcd: EtcdChild | undefined;
    let peerPort = 0;
    if (options.externalEtcd === undefined) {
      const clientPort = options.etcdPort || (await freePort());
      peerPort = await freePort();
      while (peerPort === clientPort) peerPort = await freePort();
      etcd = await EtcdChild.start({
        binary: options.etcdBinary,
        dataDir: join(dataDir, 'etcd'),
        logFile: join(dataDir, 'etcd.log'),
        clientPort,
        peerPort,
      });
    }
    const connection: EtcdConnectionOptions = options.externalEtcd ?? { endpoints: etcd!.endpoint };
    const parts = { clients: [] as Etcd3[], controlPlane: undefined as ControlPlane | undefined, nodes: [] as PredictionNode[] };
    try {
      // Loaded here so client commands do not pay for the server packages.
      const [{ ControlPlane }, { PredictionNode }] = await Promise.all([import('@switchyard/control-plane'), import('@switchyard/prediction-node')]);
      const keys = new KeyLayout(options.prefix ?? DEFAULT_PREFIX);
      // One etcd client per component, as if each ran in its own process.
      const client = (): Etcd3 => {
        const c = createEtcdClient(connection);
        parts.clients.push(c);
        return c;
      };
      const adminPort = (await portIsFree(options.host, PREFERRED_ADMIN_PORT)) ? PREFERRED_ADMIN_PORT : 0;
      let consoleListen = options.consoleListen;
      if (consoleListen === '') consoleListen = `${options.host}:${(await portIsFree(options.host, PREFERRED_CONSOLE_PORT)) ? PREFERRED_CONSOLE_PORT : 0}`;
      parts.controlPlane = await ControlPlane.create({
        auth: options.auth,
        etcd: client(),
        keys,
        dataDir: join(dataDir, 'control-plane'),
        listen: `${options.host}:${adminPort}`,
        id: 'control-plane-1',
        logger: options.logger,
        ...(consoleListen !== undefined ? { consoleListen } : {}),
      });
      for (let i = 1; i <= options.nodes; i++) {
        parts.nodes.push(
          await PredictionNode.create({
            etcd: client(),
            keys,
            id: `node-${i}`,
            listen: `${options.host}:0`,
            metricsListen: `${options.host}:0`,
            httpListen: `${options.host}:0`,
            dataDir: join(dataDir, `node-${i}`),
            logger: options.logger,
            processMetrics: i === 1,
            ...(options.nodeToken !== undefined ? { controlPlaneToken: options.nodeToken } : {}),
          }),
        );
      }
      await Promise.all(parts.nodes.map((n) => n.ready(30_000)));
      const info: ClusterFile = {
        pid: process.pid,
        startedAt: new Date().toISOString(),
        dataDir,
        prefix: keys.prefix,
        // An external etcd is not ours: no pid, data or log to report.
        etcd: etcd?.endpoint ?? String(connection.endpoints),
        etcdPid: etcd?.pid ?? 0,
        etcdPeerPort: peerPort,
        etcdDataDir: etcd ? join(dataDir, 'etcd') : '',
        etcdLog: etcd?.logFile ?? '',
        controlPlane: parts.controlPlane.address,
        controlPlaneId: parts.controlPlane.id,
        ...(parts.controlPlane.consoleUrl !== undefined ? { consoleUrl: parts.controlPlane.consoleUrl } : {}),
        nodes: parts.nodes.map((n) => ({ id: n.id, address: n.address, metricsAddress: n.metricsAddress ?? '', ...(n.httpAddress !== undefined ? { httpAddress: n.httpAddress } : {}) })),
      };
      return new LocalCluster(info, etcd, parts.clients, parts.controlPlane, parts.nodes);
    } catch (err) {
      await stopAll(etcd, parts.clients, parts.controlPlane, parts.nodes);
      throw err;
    }
  }

  stop(): Promise<void> {
    return stopAll(this.etcd, this.clients, this.controlPlane, this.nodes);
  }
}

/** Nodes first (they revoke their leases), then the control plane, then etcd (when `up` started it). */
async function stopAll(etcd: EtcdChild | undefined, clients: Etcd3[], controlPlane: ControlPlane | undefined, nodes: PredictionNode[]): Promise<void> {
  await Promise.allSettled(nodes.map((n) => n.stop(2000)));
  await controlPlane?.stop().catch(() => undefined);
  for (const client of clients) client.close();
  await etcd?.stop();
}
