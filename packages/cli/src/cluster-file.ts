import { readFileSync } from 'node:fs';
import { rm, writeFile, rename } from 'node:fs/promises';
import { join } from 'node:path';

/** Where `switchyard up` keeps its state unless told otherwise (relative to the working directory). */
export const DEFAULT_DATA_DIR = '.switchyard';
export const CLUSTER_FILE = 'cluster.json';

/**
 * What `switchyard up` writes so other commands (and people) find the local
 * cluster with no flags. Removed again when `up` stops.
 */
export interface ClusterFile {
  /** Pid of the `switchyard up` process. */
  pid: number;
  startedAt: string;
  dataDir: string;
  prefix: string;
  /** etcd client URL; flat so `jq -r .etcd cluster.json` gives it. */
  etcd: string;
  etcdPid: number;
  etcdPeerPort: number;
  etcdDataDir: string;
  etcdLog: string;
  /** Admin API host:port. */
  controlPlane: string;
  controlPlaneId: string;
  /** The web console's URL (docs/console.md); absent when up ran with --no-console. */
  consoleUrl?: string;
  /** httpAddress: the KServe v2 REST API (absent in files written before it existed). */
  nodes: { id: string; address: string; metricsAddress: string; httpAddress?: string }[];
}

export function clusterFilePath(dataDir: string): string {
  return join(dataDir, CLUSTER_FILE);
}

/** Reads a cluster file; undefined when there is none. Throws when it exists but is not a cluster file. */
export function readClusterFile(dataDir: string): ClusterFile | undefined {
  const path = clusterFilePath(dataDir);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const parsed = JSON.parse(text) as Partial<ClusterFile>;
  if (typeof parsed.controlPlane !== 'string') {
    throw new Error(`${path} has no controlPlane address; delete it and run 'switchyard up' again`);
  }
  return parsed as ClusterFile;
}

/** Writes atomically, so a command never reads half a file. */
export async function writeClusterFile(dataDir: string, cluster: ClusterFile): Promise<void> {
  const path = clusterFilePath(dataDir);
  await writeFile(`${path}.tmp`, `${JSON.stringify(cluster, null, 2)}\n`);
  await rename(`${path}.tmp`, path);
}

export async function removeClusterFile(dataDir: string): Promise<void> {
  await rm(clusterFilePath(dataDir), { force: true });
}
